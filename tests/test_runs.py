import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.store.runs import RunNotFound, RunStore, is_run_id
from tests.dead_process import dead_pid

ROOT = Path(__file__).resolve().parents[1]


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
    assert record.status == "completed" and record.size_bytes == len(b"weights")
    assert [r.run_id for r in store.list()] == ["lora-a"]
    assert store.events("lora-a") == [{"type": "step", "step": 1, "loss": 2.0}]
    assert store.is_loadable(store.get("lora-a"))


def test_runs_started_in_the_same_second_list_newest_first(tmp_path):
    # A workshop room starts runs within one second; "newest" must not follow the folder listing.
    store = RunStore(tmp_path)
    for run_id in ("lora-z", "lora-a", "lora-m"):
        _finished_run(store, run_id)
    assert [r.run_id for r in store.list()] == ["lora-m", "lora-a", "lora-z"]


def test_older_records_with_whole_seconds_tie_break_by_run_id(tmp_path):
    store = RunStore(tmp_path)
    for run_id in ("lora-b", "lora-c", "lora-a"):
        _finished_run(store, run_id)
        store.update(run_id, created_at="2026-11-24T01:32:42+00:00")
    assert [r.run_id for r in store.list()] == ["lora-c", "lora-b", "lora-a"]


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
    assert store.get("lora-bad").status == "running"  # never claims completion
    assert not store.is_loadable(store.get("lora-bad"))
    with pytest.raises(RunNotFound):
        store.require_loadable("lora-bad")
    assert store.is_loadable(store.get("lora-good"))


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
    assert store.get("full-orphan").status == "interrupted"
    assert store.get("prompt-live").status == "running"
    assert not (tmp_path / "full-orphan" / f"model.tmp-{gone}").exists()
    assert not (tmp_path / f".deleting-x-{gone}").exists()
    assert not (tmp_path / "lora-done" / f".run.json.tmp-{gone}-6").exists()
    assert (tmp_path / "lora-done" / f".run.json.tmp-{os.getpid()}-6").exists()
    assert (tmp_path / "prompt-live" / f"model.tmp-{os.getpid()}").is_dir()
    assert {r.run_id for r in store.list()} == {"lora-done", "full-orphan", "prompt-live"}


def test_corrupt_run_json_is_not_listed(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-ok")
    (tmp_path / "lora-broken").mkdir()
    (tmp_path / "lora-broken" / "run.json").write_text('{"method": "lo')
    assert [r.run_id for r in store.list()] == ["lora-ok"]


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
    assert store.rename("lora-r", "  My   best run ").name == "My best run"
    for bad in ("", "   ", "x" * 81):
        with pytest.raises(ValueError):
            store.rename("lora-r", bad)
    assert store.get("lora-r").name == "My best run"
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
    assert store.get("lora-same").status == "completed"


def test_truncated_event_line_ends_the_curve(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-e")
    with open(tmp_path / "lora-e" / "events.jsonl", "a") as handle:
        handle.write('{"type": "step", "st')
    assert len(store.events("lora-e")) == 1
    assert os.path.exists(tmp_path / "lora-e" / "events.jsonl")


# ------------------------------------------------------------------ identity from creation

def test_the_record_holds_owner_and_process_from_creation(tmp_path):
    store = RunStore(tmp_path)
    store.create("lora-own", {"method": "lora", "owner_hash": "abc123"})
    on_disk = json.loads((tmp_path / "lora-own" / "run.json").read_text())
    assert on_disk["owner_hash"] == "abc123" and on_disk["status"] == "running"
    assert on_disk["process"]["pid"] == os.getpid() and "owner" not in on_disk
    store.rename("lora-own", "renamed while training")
    record = store.finish("lora-own", "failed", error="x")
    assert record.owner_hash == "abc123" and record.process.model_dump() == on_disk["process"]


def test_old_records_with_owner_as_process_still_read(tmp_path):
    store = RunStore(tmp_path)
    store.create("lora-old", {"method": "lora"})
    path = tmp_path / "lora-old" / "run.json"
    record = json.loads(path.read_text())
    record["owner"] = record.pop("process")  # how records were written before
    path.write_text(json.dumps(record))
    assert store.get("lora-old").status == "running"  # this process, alive
    assert store.get("lora-old").process.pid == os.getpid()
    store.rename("lora-old", "new")
    assert "owner" not in json.loads(path.read_text())


# ------------------------------------------------------------------ records of the wrong shape

BAD_RECORDS = {
    "list": "[]",
    "null": "null",
    "owner-string": '{"status": "running", "owner": "x"}',
    "numeric-created": '{"method": "lora", "status": "completed", "created_at": 5}',
    "metrics-string": '{"method": "lora", "status": "completed", "created_at": "2026-01-01", "metrics": "x"}',
    "status-unknown": '{"method": "lora", "status": "exploded", "created_at": "2026-01-01"}',
    "loss-text": '{"method": "lora", "status": "completed", "created_at": "2026-01-01", "final_loss": "low"}',
}


@pytest.mark.parametrize("shape", sorted(BAD_RECORDS))
def test_a_record_of_the_wrong_shape_is_skipped_and_reported(tmp_path, shape):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-good")
    (tmp_path / "lora-bad").mkdir()
    (tmp_path / "lora-bad" / "run.json").write_text(BAD_RECORDS[shape])
    assert store.sweep() == []
    assert [r.run_id for r in store.list()] == ["lora-good"]
    assert [(p["run_id"], p["file"]) for p in store.problems] == [("lora-bad", "run.json")]
    assert store.problems[0]["reason"]
    with pytest.raises(RunNotFound, match="unreadable record"):
        store.get("lora-bad")
    with pytest.raises(RunNotFound):
        store.delete("lora-bad")
    assert (tmp_path / "lora-bad" / "run.json").read_text() == BAD_RECORDS[shape]  # left for the operator


@pytest.mark.parametrize("line", ["5", "null", '"step"', "[1, 2]", '{"type": "step", "step": "one", "loss": 1.0}',
                                  '{"type": "step", "step": 2, "loss": "nan?"}', '{"no_type": 1}'])
def test_an_event_line_of_the_wrong_shape_is_skipped_and_reported(tmp_path, line):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-e")
    with open(tmp_path / "lora-e" / "events.jsonl", "a") as handle:
        handle.write(line + "\n" + json.dumps({"type": "step", "step": 3, "loss": 1.5}) + "\n")
    assert [e["step"] for e in store.events("lora-e")] == [1, 3]
    assert [(p["run_id"], p["file"]) for p in store.problems] == [("lora-e", "events.jsonl")]
    assert "line 2" in store.problems[0]["reason"]


def test_a_record_that_becomes_readable_again_leaves_the_problems(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-x")
    good = (tmp_path / "lora-x" / "run.json").read_text()
    (tmp_path / "lora-x" / "run.json").write_text("[]")
    assert store.list() == [] and store.problems
    (tmp_path / "lora-x" / "run.json").write_text(good)
    assert [r.run_id for r in store.list()] == ["lora-x"] and store.problems == []


def test_run_ids_must_match_in_full(tmp_path):
    assert is_run_id("lora-a") and not is_run_id("lora-a\n") and not is_run_id("lora-a\nx")
    store = RunStore(tmp_path)
    _finished_run(store, "lora-a")
    with pytest.raises(RunNotFound):
        store.get("lora-a\n")


# ------------------------------------------------------------------ listing tells the truth, writes nothing

def test_a_running_run_of_a_dead_process_lists_as_interrupted_without_a_write(tmp_path):
    store = RunStore(tmp_path)
    store.create("lora-dead", {"method": "lora"})
    path = tmp_path / "lora-dead" / "run.json"
    record = json.loads(path.read_text())
    record["process"]["pid"] = dead_pid()
    path.write_text(json.dumps(record))
    before = path.read_bytes(), path.stat().st_mtime_ns
    listed = {r.run_id: r for r in RunStore(tmp_path).list()}
    assert listed["lora-dead"].status == "interrupted" and "ended before it finished" in listed["lora-dead"].error
    assert store.get("lora-dead").status == "interrupted"
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    store.delete("lora-dead")  # an interrupted run may go
    assert not (tmp_path / "lora-dead").exists()


def test_pid_reuse_does_not_keep_a_dead_run_alive(tmp_path):
    store = RunStore(tmp_path)
    store.create("lora-reused", {"method": "lora"})
    path = tmp_path / "lora-reused" / "run.json"
    record = json.loads(path.read_text())
    record["process"]["started"] -= 3600  # same pid as ours, but a process started an hour earlier
    path.write_text(json.dumps(record))
    assert store.get("lora-reused").status == "interrupted"
    record["process"]["host"] = "another-machine"
    record["process"]["started"] += 3600
    path.write_text(json.dumps(record))
    assert store.get("lora-reused").status == "interrupted"


# ------------------------------------------------------------------ a final state the disk refuses

def test_a_failed_state_the_disk_refuses_is_kept_shown_and_written_later(tmp_path, monkeypatch):
    from studio.store import runs

    store = RunStore(tmp_path)
    store.create("lora-full", {"method": "lora"})
    real_write, refusals = runs.write_json_atomic, []

    def disk_full(path, payload):
        if len(refusals) < 3:
            refusals.append(payload.get("status"))
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, payload)

    monkeypatch.setattr(runs, "write_json_atomic", disk_full)
    with pytest.raises(OSError):  # "completed" must be on disk before anyone believes it
        store.finish("lora-full", "completed", final_loss=1.0)
    record = store.finish("lora-full", "failed", error="The disk is full")  # kept, not raised
    assert record.status == "failed"
    on_disk = tmp_path / "lora-full" / "run.json"
    assert json.loads(on_disk.read_text())["status"] == "running"
    assert store.get("lora-full").status == "failed"  # retried (refused again), shown from memory
    assert refusals == ["completed", "failed", "failed"]
    assert [r.status for r in store.list()] == ["failed"]  # the retry on this read gets through
    assert json.loads(on_disk.read_text())["status"] == "failed"
    assert json.loads(on_disk.read_text())["error"] == "The disk is full"
    assert store.flush() == []


def test_flush_writes_what_the_disk_refused(tmp_path, monkeypatch):
    from studio.store import runs

    store = RunStore(tmp_path)
    store.create("lora-later", {"method": "lora"})
    monkeypatch.setattr(runs, "write_json_atomic", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    store.finish("lora-later", "failed", error="boom")
    assert store.flush() == ["lora-later"]
    monkeypatch.undo()
    assert store.flush() == []  # as at exit
    assert json.loads((tmp_path / "lora-later" / "run.json").read_text())["status"] == "failed"


# ------------------------------------------------------------------ the sweep spares live processes

SWEEP = "import sys; from studio.store.runs import RunStore; print(RunStore(sys.argv[1]).sweep())"


def test_a_sweep_from_another_process_spares_a_live_save(tmp_path):
    store = RunStore(tmp_path)
    store.create("full-saving", {"method": "full"})
    saving = tmp_path / "full-saving" / f"model.tmp-{os.getpid()}"
    saving.mkdir()
    (saving / "model.safetensors").write_bytes(b"half written")
    (tmp_path / "full-saving" / f".run.json.tmp-{os.getpid()}-1").write_text("{")
    out = subprocess.run([sys.executable, "-c", SWEEP, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
    assert (saving / "model.safetensors").read_bytes() == b"half written"
    assert store.get("full-saving").status == "running"


def test_two_sweeps_never_run_at_once(tmp_path):
    from filelock import FileLock, Timeout

    store = RunStore(tmp_path)
    with FileLock(tmp_path / ".sweep.lock"):  # someone else is sweeping
        script = ("import sys, studio.store.runs as r; r.LOCK_SECONDS = 0.5\n"
                  "try:\n    r.RunStore(sys.argv[1]).sweep()\nexcept r.Timeout:\n    print('waited')")
        out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True,
                             text=True, check=True)
    assert out.stdout.strip() == "waited"
    assert store.sweep() == [] and issubclass(Timeout, OSError)
