"""`python -m studio bench` (studio/cli/bench.py): `--only experiment --precision fp32` reaches the
benchmark's stage (fp32 on a bf16 CPU stands in for a CPU without native bf16); the stage itself takes
minutes and runs in the benchmark, not here. An installed studio without bench/ is test_packaging.py's."""
import json

import pytest

from bench import experiment
from studio import cli


def test_the_bench_command_passes_the_precision_to_the_stage(monkeypatch, capsys):
    asked = {}

    def stage(cache_dir, precision="auto", say=print):
        asked["precision"] = precision
        return {"stage": "experiment", "precision_setting": precision}

    monkeypatch.setattr(experiment, "bench_experiment", stage)
    assert cli.main(["bench", "--only", "experiment", "--precision", "fp32", "--json"]) == 0
    assert asked == {"precision": "fp32"}
    assert json.loads(capsys.readouterr().out)["precision_setting"] == "fp32"
    with pytest.raises(SystemExit) as refused:                      # fp16 is no choice: T5 overflows in it
        cli.main(["bench", "--only", "experiment", "--precision", "fp16"])
    assert refused.value.code == 2 and asked == {"precision": "fp32"}


def test_the_bench_command_passes_the_method_to_the_compile_stage(monkeypatch, capsys):
    from bench import compile_speed

    asked = {}

    def stage(cache_dir, steps=10, say=print, method=None):
        asked["method"] = method
        return {"stage": "compile", "method": method or "full"}

    monkeypatch.setattr(compile_speed, "bench_compile", stage)
    assert cli.main(["bench", "--only", "compile", "--method", "lora", "--json"]) == 0
    assert asked == {"method": "lora"} and json.loads(capsys.readouterr().out)["method"] == "lora"
    assert cli.main(["bench", "--only", "compile", "--json"]) == 0    # no --method: full fine-tuning
    assert asked == {"method": None} and json.loads(capsys.readouterr().out)["method"] == "full"
    with pytest.raises(SystemExit) as refused:
        cli.main(["bench", "--only", "compile", "--method", "adapters"])
    assert refused.value.code == 2


def test_the_method_flag_elsewhere_is_refused_not_ignored(monkeypatch, capsys):
    """Only the compile stage reads --method: with another stage it would time something other than what
    was asked, so the command says so and runs nothing."""
    ran = []
    monkeypatch.setattr(experiment, "bench_experiment", lambda *a, **k: ran.append("experiment") or {})
    for argv in (["bench", "--only", "experiment", "--method", "lora"], ["bench", "--method", "ia3", "--quick"],
                 ["bench", "--only", "compile-run", "--method", "lora"]):
        assert cli.main(argv) == 2
        assert "--method applies only to `bench --only compile`" in capsys.readouterr().err
    assert ran == []
