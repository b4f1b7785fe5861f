import json
import os
import subprocess
import sys

import pytest

from studio.runs import RunNotFound, RunStore


def _finished_run(store, run_id, payload=b"weights"):
    store.create(run_id, {"method": "lora", "name": run_id})
    store.append_event(run_id, {"type": "step", "step": 1, "loss": 2.0})

    def save(folder):
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(payload)

    return store.finish(run_id, "completed", save_model=save, final_loss=2.0)


def test_create_finish_list_and_read_back(tmp_path):
    store = RunStore(tmp_path)
    record = _finished_run(store, "lora-a")
    assert record["status"] == "completed" and record["size_bytes"] == len(b"weights")
    assert [r["run_id"] for r in store.list()] == ["lora-a"]
    assert store.events("lora-a") == [{"type": "step", "step": 1, "loss": 2.0}]
    assert store.is_loadable(store.get("lora-a"))


def test_crash_during_save_keeps_earlier_runs_and_leaves_no_model(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-good")
    store.create("lora-bad", {"method": "lora"})

    def crash(folder):
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        store.finish("lora-bad", "completed", save_model=crash)
    assert not (tmp_path / "lora-bad" / "model").exists()
    assert not list((tmp_path / "lora-bad").glob("model.tmp-*"))
    assert store.get("lora-bad")["status"] == "running"  # never claims completion
    assert not store.is_loadable(store.get("lora-bad"))
    with pytest.raises(RunNotFound):
        store.require_loadable("lora-bad")
    assert store.is_loadable(store.get("lora-good"))


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_marks_orphans_interrupted_and_removes_leftovers(tmp_path):
    store = RunStore(tmp_path)
    gone = dead_pid()
    _finished_run(store, "lora-done")
    store.create("full-orphan", {"method": "full"})
    record = json.loads((tmp_path / "full-orphan" / "run.json").read_text())
    record["process"]["pid"] = 999_999_999  # a process that no longer exists
    (tmp_path / "full-orphan" / "run.json").write_text(json.dumps(record))
    (tmp_path / "full-orphan" / f"model.tmp-{gone}").mkdir()
    (tmp_path / f".deleting-x-{gone}").mkdir()
    (tmp_path / "no-record").mkdir()  # a folder without run.json is never a run
    (tmp_path / "lora-done" / f".run.json.tmp-{gone}-6").write_text("{")
    (tmp_path / "lora-done" / f".run.json.tmp-{os.getpid()}-6").write_text("{")  # a live writer's: kept
    store.create("prompt-live", {"method": "prompt"})  # this process is alive: leave it running
    (tmp_path / "prompt-live" / f"model.tmp-{os.getpid()}").mkdir()  # ... and what it is saving

    assert store.sweep() == ["full-orphan"]
    assert store.get("full-orphan")["status"] == "interrupted"
    assert store.get("prompt-live")["status"] == "running"
    assert not (tmp_path / "full-orphan" / f"model.tmp-{gone}").exists()
    assert not (tmp_path / f".deleting-x-{gone}").exists()
    assert not (tmp_path / "lora-done" / f".run.json.tmp-{gone}-6").exists()
    assert (tmp_path / "lora-done" / f".run.json.tmp-{os.getpid()}-6").exists()
    assert (tmp_path / "prompt-live" / f"model.tmp-{os.getpid()}").is_dir()
    assert {r["run_id"] for r in store.list()} == {"lora-done", "full-orphan", "prompt-live"}


def test_corrupt_run_json_is_not_listed(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-ok")
    (tmp_path / "lora-broken").mkdir()
    (tmp_path / "lora-broken" / "run.json").write_text('{"method": "lo')
    assert [r["run_id"] for r in store.list()] == ["lora-ok"]


@pytest.mark.parametrize("bad", ["../../etc", "/etc/passwd", "..", ".", "", "a/b", "UPPER", "x" * 200,
                                 "lora-a/../../x", "\x00", None, 5])
def test_path_like_run_ids_are_refused(tmp_path, bad):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(RunNotFound):
        store.path(bad)
    with pytest.raises(RunNotFound):
        store.get(bad)


def test_rename_validates_and_delete_removes(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-r")
    assert store.rename("lora-r", "  My   best run ")["name"] == "My best run"
    for bad in ("", "   ", "x" * 81):
        with pytest.raises(ValueError):
            store.rename("lora-r", bad)
    assert store.get("lora-r")["name"] == "My best run"
    store.delete("lora-r")
    assert store.list() == [] and not (tmp_path / "lora-r").exists()
    with pytest.raises(RunNotFound):
        store.delete("lora-r")


def test_a_running_run_of_this_process_cannot_be_deleted(tmp_path):
    store = RunStore(tmp_path)
    store.create("lora-busy", {"method": "lora"})
    with pytest.raises(ValueError, match="still training"):
        store.delete("lora-busy")


def test_run_ids_are_never_reused(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-same")
    with pytest.raises(FileExistsError):
        store.create("lora-same", {"method": "lora"})
    assert store.get("lora-same")["status"] == "completed"


def test_truncated_event_line_ends_the_curve(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-e")
    with open(tmp_path / "lora-e" / "events.jsonl", "a") as handle:
        handle.write('{"type": "step", "st')
    assert len(store.events("lora-e")) == 1
    assert os.path.exists(tmp_path / "lora-e" / "events.jsonl")
