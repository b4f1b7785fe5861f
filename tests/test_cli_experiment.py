"""`python -m studio experiment` (studio/cli/experiment.py), in this process; the experiment itself is
tested in test_experiment.py (and `--resume` there, beside the experiments it cuts short)."""
import json

from studio import cli as studio_cli


def test_cli_experiment_prints_one_json_object(monkeypatch, capsys, tmp_path, cache_dir):
    monkeypatch.setenv("STUDIO_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("STUDIO_DATA", "bundled")
    monkeypatch.delenv("STUDIO_BASE_MODEL", raising=False)
    code = studio_cli.main(["experiment", "--methods", "lora", "prompt", "--steps", "2", "--batch-size", "4",
                            "--train-size", "16", "--seed", "3", "--limit", "2", "--max-new-tokens", "6", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    assert {"runs", "budget", "examples", "scores", "paired", "seconds"} <= out.keys()
    assert list(out["runs"]) == ["lora", "prompt"] and out["examples"] == 2
    assert out["budget"]["steps"] == 2 and out["budget"]["train_size"] == 16 and out["budget"]["seed"] == 3
    assert len(out["paired"]) == 3 * 4 and set(out["scores"]) == {"original", *out["runs"].values()}
    assert {"a", "b", "metric", "difference", "low", "high"} <= out["paired"][0].keys()
    assert "training lora (1 of 2)" in captured.err

    code = studio_cli.main(["experiment", "--methods", "lora", "--steps", "0"])
    assert code == 2 and "number of steps" in capsys.readouterr().err


def test_cli_seeds_flag_trains_each_method_per_seed_and_prints_the_headline_first(run_cli):
    code, out, err = run_cli("experiment", "--methods", "lora", "--steps", "1", "--batch-size", "4",
                             "--train-size", "8", "--seeds", "2", "--limit", "2", "--max-new-tokens", "4")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["training lora seed 42 (1 of 2) ...", "training lora seed 43 (2 of 2) ..."]
    first = next(i for i, line in enumerate(lines) if line.startswith("Experiment "))
    assert "seeds 42, 43" in lines[first]
    assert lines[first + 1].startswith("On ROUGE-L over 2 test dialogues and 2 seeds, ")   # the headline first
    assert lines[-1].startswith("Each method was trained 2 times (seeds 42, 43)")
    code, out, err = run_cli("experiment", "--methods", "lora", "--seeds", "0")
    assert code == 2 and "number of seeds" in err
