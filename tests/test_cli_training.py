"""`python -m studio train` (studio/cli/training.py) end to end, offline, as a user would run it (in this
process: see conftest's run_cli and cli), then the commands that use its runs.

The true subprocess runs (`python -m studio` itself, a killed training) are in test_main.py and
test_reliability.py; torchrun's ranks in test_distributed.py.
"""
import json
from pathlib import Path

import pytest

from tests.conftest import as_json


@pytest.mark.slow  # three trainings and an evaluation
def test_train_all_methods_then_evaluate_summarize_and_list(cli):
    run_ids = {}
    for method in ("full", "lora", "prompt"):
        out = as_json(cli("train", "--method", method, "--steps", "4", "--batch-size", "4", "--train-size", "16",
                          "--seed", "3", "--json"))
        assert out["status"] == "completed" and out["method"] == method
        assert 0 < out["trainable_params"] <= out["total_params"] and out["final_loss"] > 0
        assert Path(out["run_dir"], "model").is_dir()
        run_ids[method] = out["run_id"]
    assert run_ids["full"] != run_ids["lora"]

    evaluation = as_json(cli("evaluate", "--models", "original", *run_ids.values(), "--limit", "4",
                             "--max-new-tokens", "8", "--json"))
    assert evaluation["examples"] == 4 and evaluation["seconds"] > 0 and evaluation["examples_per_second"] > 0
    assert set(evaluation["models"]) == {"original", *run_ids.values()}
    assert {p["metric"] for p in evaluation["paired"]} == {"rouge1", "rouge2", "rougeL", "bleu"}
    for scores in evaluation["models"].values():
        for metric in ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu"):
            assert 0 <= scores[metric]["low"] <= scores[metric]["mean"] <= scores[metric]["high"] <= 1

    summary = as_json(cli("summarize", "--model", run_ids["lora"], "--text", "Anna: Hi Ben!\nBen: Hi Anna.",
                          "--max-new-tokens", "8", "--json"))
    assert summary["model"] == run_ids["lora"] and isinstance(summary["summary"], str)

    runs = as_json(cli("runs", "--json"))["runs"]
    listed = {r["run_id"]: r for r in runs}
    assert set(listed) == set(run_ids.values())
    assert all(r["status"] == "completed" and "metrics" in r for r in listed.values())


def test_ctrl_c_during_a_training_saves_it_stopped_and_exits_130(run_cli, monkeypatch):
    """The run was saved and said so, but the exit status was 0, as for a finished run: `train && next` went on."""
    from studio.service.engine import Studio

    news = Studio.wait_for_job_news
    pressed = []

    def ctrl_c_at_the_first_step(self, job_id, seen, timeout=None):
        if seen >= 1 and not pressed:
            pressed.append(seen)
            raise KeyboardInterrupt
        return news(self, job_id, seen, timeout)
    monkeypatch.setattr(Studio, "wait_for_job_news", ctrl_c_at_the_first_step)
    code, out, err = run_cli("train", "--method", "lora", "--steps", "400", "--batch-size", "2", "--train-size", "8",
                             "--json")
    assert pressed and code == 130, err
    result = json.loads(out)
    assert result["status"] == "stopped" and "stopping after this step" in err
    assert Path(result["run_dir"], "model").is_dir()
