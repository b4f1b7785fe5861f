"""bench/experiment.py: the quick experiment's benchmark says which precision actually ran, and
`python -m studio bench --only experiment --precision fp32` reaches it (fp32 on a bf16 CPU stands in
for a CPU without native bf16). The stage itself takes minutes: it runs in the benchmark, not here."""
import json

import pytest

from bench import experiment
from studio import cli
from studio.model.hardware import pick_device, use_bf16


def test_the_precisions_used_are_read_back_from_the_runs_and_the_pool(trained):
    studio, run_ids = trained
    expected = "bf16" if use_bf16(studio.settings.precision, pick_device()) else "fp32"
    used = experiment._precisions_used(studio, run_ids)
    assert used["training_precision"] == {method: expected for method in run_ids}
    assert used["generation_precision"] == expected


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
