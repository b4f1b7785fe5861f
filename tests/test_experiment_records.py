"""Experiment records on disk: written whole, read bounded, a bad file noted, a dead process's experiment cut short."""
import json

import pytest

from studio.store.experiment_records import ExperimentRecords, as_seen, is_experiment_id
from studio.store.processes import process_identity
from studio.store.runs import RunStore

EXP = "exp-20260101-120000-abcd"


def _record(**extra):
    return {"experiment_id": EXP, "created_at": 1.0, "methods": ["full", "lora"], "budget": {"steps": 3},
            "train": {"steps": 3}, "runs": {"full": "full-20260101-120000-0001"}, "status": "training",
            "stage": "training lora", "process": process_identity(), **extra}


def test_a_record_round_trips_and_a_dead_process_reads_as_cut_short(tmp_path):
    records = ExperimentRecords(tmp_path / "runs")
    records.save(_record())
    (loaded,) = records.load()
    assert loaded == json.loads((tmp_path / "runs" / ".experiments" / f"{EXP}.json").read_text())
    assert as_seen(loaded)["status"] == "training"   # its process (this one) still runs it
    gone = {**loaded, "process": {"host": "gone", "pid": 1, "started": 0.0}}
    assert as_seen(gone)["status"] == "interrupted" and as_seen(gone)["stopped_at"] == "training lora"
    assert as_seen({**gone, "status": "completed"})["status"] == "completed"


def test_the_run_store_neither_lists_nor_sweeps_the_records(tmp_path):
    records = ExperimentRecords(tmp_path / "runs")
    records.save(_record())
    store = RunStore(tmp_path / "runs")
    assert store.sweep() == [] and store.list() == [] and store.problems == []
    assert records.get(EXP)["experiment_id"] == EXP


@pytest.mark.parametrize("text, why", [
    ("[" * 100_000, "nested more than"),
    ("not json", "not JSON"),
    (json.dumps({"experiment_id": "exp-20260101-120000-ffff"}), "no matching experiment_id"),
    (json.dumps({"experiment_id": EXP, "methods": "full"}), "'methods' is missing or of the wrong kind"),
])
def test_a_bad_record_is_noted_and_the_others_still_load(tmp_path, text, why):
    records = ExperimentRecords(tmp_path / "runs")
    records.save(_record(experiment_id="exp-20260101-120000-0001"))
    (records.folder / f"{EXP}.json").write_text(text)
    assert [r["experiment_id"] for r in records.load()] == ["exp-20260101-120000-0001"]
    assert why in records.problems[f"{EXP}.json"]
    assert records.get(EXP) is None


def test_a_write_killed_half_way_leaves_the_old_record_and_its_leftover_is_swept(tmp_path):
    records = ExperimentRecords(tmp_path / "runs")
    records.save(_record())
    leftover = records.folder / f".{EXP}.json.tmp-999999999-1"
    leftover.write_text('{"experiment_id": ')
    assert [r["stage"] for r in records.load()] == ["training lora"] and not leftover.exists()


def test_only_experiment_ids_name_a_record(tmp_path):
    assert is_experiment_id(EXP) and not is_experiment_id("../" + EXP) and not is_experiment_id(EXP + "\n")
    with pytest.raises(ValueError, match="not an experiment id"):
        ExperimentRecords(tmp_path).save(_record(experiment_id="../escape"))
