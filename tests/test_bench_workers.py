"""bench/workers.py: one worker against two on the same two trainings, in one run."""
import pytest

from bench.workers import compare_workers


@pytest.mark.slow
def test_both_settings_train_both_runs_and_report_the_machine(cache_dir, tmp_path):
    out = compare_workers(cache_dir, tmp_path / "runs", steps=2, rounds=1)
    assert set(out["results"]) == {"1", "2"} and out["machine"]["cores"] >= 1
    one, two = out["results"]["1"][0], out["results"]["2"][0]
    assert "one training at a time" in one["workers"] and "each in its own process" in two["workers"]
    assert all(seconds > 0 for seconds in one["train_seconds"] + two["train_seconds"])
    assert one["seconds"] > 0 and two["seconds"] > 0
