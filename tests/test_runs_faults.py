"""The run store under the faults of issue 23 (points 9, 15, 19, 20): files no parser should trust,
a process killed between saving a model and recording it, runs that cannot be read, and a full disk."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from studio.store import runs
from studio.store.records import MAX_JSON_DEPTH, BadRecord, load_json, parse_event, parse_record
from studio.store.runs import MAX_RECORD_BYTES, RunNotFound, RunStore
from tests.dead_process import dead_pid

NESTED = "[" * 100_000


def _finished_run(store: RunStore, run_id: str) -> dict:
    store.create(run_id, {"method": "lora", "name": run_id})
    store.append_event(run_id, {"type": "step", "step": 1, "loss": 2.0})

    def save(folder):
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"weights")

    return store.finish(run_id, "completed", save_model=save, final_loss=2.0)


def _bad_run(root: Path, run_id: str, content: bytes) -> Path:
    (root / run_id).mkdir()
    (root / run_id / "run.json").write_bytes(content)
    return root / run_id


def _reasons(store: RunStore) -> dict:
    return {(p["run_id"], p["file"]): p["reason"] for p in store.problems}


def _kill_the_process_of(path: Path) -> None:
    """Make a run's recorded process one that has ended, as `kill -9` leaves it."""
    record = json.loads(path.read_text())
    record["process"]["pid"] = dead_pid()
    path.write_text(json.dumps(record))


# ------------------------------------------------------------------ JSON no parser should trust

def test_deeply_nested_json_is_a_bad_record_not_a_recursion_error():
    for parse in (parse_record, parse_event, load_json):
        with pytest.raises(BadRecord, match=f"nested more than {MAX_JSON_DEPTH} levels"):
            parse(NESTED)
    with pytest.raises(BadRecord, match="nested more than"):  # deep inside an otherwise good record
        parse_record('{"method": "lora", "status": "completed", "created_at": "x", "hyperparameters": '
                     + '{"a": ' * 40 + "1" + "}" * 41)
    # Brackets inside strings nest nothing, escaped quotes included.
    assert parse_record(json.dumps({"method": "lora", "status": "completed", "created_at": "x",
                                    "name": '[[[[\\"' * 50}))["name"].startswith("[[[[")


def test_a_nested_run_json_is_skipped_and_reported_by_list_get_and_sweep(tmp_path):
    """A bug this reproduces: 100,000 nested `[` raised RecursionError from list_runs and the start-up sweep."""
    store = RunStore(tmp_path)
    _finished_run(store, "lora-good")
    _bad_run(tmp_path, "lora-nested", NESTED.encode())
    assert store.sweep() == []
    assert [r.run_id for r in store.list()] == ["lora-good"]
    with pytest.raises(RunNotFound, match="unreadable record"):
        store.get("lora-nested")
    assert "nested more than" in _reasons(store)[("lora-nested", "run.json")]


def test_a_nested_events_line_is_a_bad_line(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-e")
    with open(tmp_path / "lora-e" / "events.jsonl", "a") as handle:
        handle.write(NESTED + "\n")
    assert [e["step"] for e in store.events("lora-e")] == [1]
    assert "line 2: nested more than" in _reasons(store)[("lora-e", "events.jsonl")]


def test_a_run_json_too_large_or_not_a_plain_file_is_refused_without_reading_it_whole(tmp_path):
    store = RunStore(tmp_path)
    huge = _bad_run(tmp_path, "lora-huge", b"")
    with open(huge / "run.json", "wb") as handle:
        handle.truncate(MAX_RECORD_BYTES * 1000)  # sparse: 4 GB on paper, nothing on disk
    fifo = tmp_path / "lora-fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "run.json")  # opening it for reading would wait for a writer forever
    assert store.list() == []
    reasons = _reasons(store)
    assert reasons[("lora-huge", "run.json")] == f"larger than {MAX_RECORD_BYTES:,} bytes"
    assert reasons[("lora-fifo", "run.json")] == "not a plain file"


# ------------------------------------------------------------------ every folder not listed says why

def test_every_run_folder_that_is_not_listed_is_reported_with_its_reason(tmp_path, monkeypatch):
    """A bug this reproduces: a non-UTF-8 run.json and an unreadable folder vanished without a word."""
    store = RunStore(tmp_path)
    _finished_run(store, "lora-good")
    good = (tmp_path / "lora-good" / "run.json").read_bytes()
    _bad_run(tmp_path, "lora-latin1", good.replace(b'"name": "lora-good"', b'"name": "caf\xe9"'))
    (tmp_path / "lora-dir").mkdir()
    (tmp_path / "lora-dir" / "run.json").mkdir()  # a run.json that cannot be read as a file
    (tmp_path / "lora-norecord").mkdir()
    (tmp_path / "lora-norecord" / "notes.txt").write_text("a folder with files but no record")
    _bad_run(tmp_path, "lora-locked", good)
    real_read = runs.read_text_bounded

    def permission_denied_in_locked(path, *args, **kwargs):
        if path.parent.name == "lora-locked":  # as chmod 000 does for a user that is not root
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(runs, "read_text_bounded", permission_denied_in_locked)
    assert [r.run_id for r in store.list()] == ["lora-good"]
    reasons = _reasons(store)
    assert set(reasons) == {(run_id, "run.json") for run_id in ("lora-latin1", "lora-dir", "lora-norecord",
                                                                "lora-locked")}
    assert reasons[("lora-latin1", "run.json")].startswith("not UTF-8 text (byte 0xe9 at position")
    assert reasons[("lora-dir", "run.json")] == "cannot be read (Is a directory)"
    assert reasons[("lora-norecord", "run.json")] == "missing: the folder holds no run record"
    assert reasons[("lora-locked", "run.json")] == "cannot be read (Permission denied)"


def test_garbage_in_a_loss_curve_is_reported_by_a_listing_alone(tmp_path):
    """A bug this reproduces: `runs --json` (list, then problems) never read events.jsonl, so it reported nothing."""
    store = RunStore(tmp_path)
    _finished_run(store, "lora-good")
    with open(tmp_path / "lora-good" / "events.jsonl", "a") as handle:
        handle.write("garbage\n" + json.dumps({"type": "step", "step": 2, "loss": 1.0}) + "\n")
    listing = RunStore(tmp_path)
    assert [r.run_id for r in listing.list()] == ["lora-good"]
    assert _reasons(listing)[("lora-good", "events.jsonl")].startswith("line 2: not JSON")
    (tmp_path / "lora-good" / "events.jsonl").write_text(json.dumps({"type": "step", "step": 1, "loss": 2.0}) + "\n")
    assert listing.problems == []  # mended: asked again, the changed file is read again


def test_a_finished_run_whose_model_was_deleted_is_not_listed_with_a_size(tmp_path):
    """A bug this reproduces: with model/ deleted the run was listed as `completed, 4.9 MB`."""
    from studio.ui.handlers.runs import runs_table

    store = RunStore(tmp_path)
    _finished_run(store, "lora-gone")
    (tmp_path / "lora-gone" / "model" / "adapter_model.safetensors").unlink()
    (record,) = store.list()
    assert record.size_bytes is None and "saved model is gone" in record.model_missing
    assert not store.is_loadable(record)
    row = runs_table([record]).iloc[0]
    assert row["Size on disk"] == "" and row["Status"] == "completed, model missing"
    on_disk = json.loads((tmp_path / "lora-gone" / "run.json").read_text())
    assert on_disk["size_bytes"] == len(b"weights") and "model_missing" not in on_disk  # reading wrote nothing


# ------------------------------------------------------------------ killed between the model and the record

class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even `except Exception`."""


def test_a_run_killed_after_its_model_landed_comes_back_finished_not_interrupted(tmp_path, monkeypatch):
    """A bug this reproduces: the rename of model/ and the final run.json are two steps; a kill between them
    left an `interrupted` run that "has no saved model" though model/ loads."""
    store = RunStore(tmp_path)
    store.create("lora-cut", {"method": "lora", "name": "cut short"})
    real_write = runs.write_json_atomic

    def killed_at_the_final_write(path, payload):
        if payload.get("status") != "running":
            raise Killed
        real_write(path, payload)

    monkeypatch.setattr(runs, "write_json_atomic", killed_at_the_final_write)

    def save(folder):
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"weights")

    with pytest.raises(Killed):
        store.finish("lora-cut", "stopped", save_model=save, steps=7, final_loss=1.5)
    monkeypatch.undo()
    assert (tmp_path / "lora-cut" / "model" / "adapter_model.safetensors").is_file()
    _kill_the_process_of(tmp_path / "lora-cut" / "run.json")

    after_restart = RunStore(tmp_path)
    record = after_restart.get("lora-cut")  # reading already tells the truth ...
    assert record.status == "stopped" and record.steps == 7 and record.size_bytes == len(b"weights")
    assert after_restart.is_loadable(record) and "finishing" not in record.as_dict()
    assert after_restart.sweep() == []  # ... and the sweep writes it down, not "interrupted"
    on_disk = json.loads((tmp_path / "lora-cut" / "run.json").read_text())
    assert on_disk["status"] == "stopped" and on_disk["final_loss"] == 1.5 and "finishing" not in on_disk
    assert after_restart.require_loadable("lora-cut").name == "cut short"


def test_a_run_killed_before_its_model_landed_is_interrupted(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    store.create("lora-early", {"method": "lora"})

    def killed_while_saving(folder):
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"half")
        raise Killed

    with pytest.raises(Killed):
        store.finish("lora-early", "completed", save_model=killed_while_saving)
    _kill_the_process_of(tmp_path / "lora-early" / "run.json")
    assert RunStore(tmp_path).sweep() == ["lora-early"]
    assert RunStore(tmp_path).get("lora-early").status == "interrupted"


# ------------------------------------------------------------------ a full disk at creation

def test_a_run_the_disk_refuses_at_creation_leaves_no_folder(tmp_path, monkeypatch):
    """A bug this reproduces: a training refused at record creation left a folder holding only `.run.lock`."""
    store = RunStore(tmp_path)

    def disk_full(path, payload):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "write_json_atomic", disk_full)
    with pytest.raises(OSError, match="No space left"):
        store.create("lora-refused", {"method": "lora"})
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert store.list() == [] and store.problems == []


def test_the_sweep_removes_record_less_shells_that_older_versions_left(tmp_path):
    store = RunStore(tmp_path)
    _finished_run(store, "lora-kept")
    for run_id in ("lora-shell", "lora-shell2"):
        (tmp_path / run_id).mkdir()
        (tmp_path / run_id / ".run.lock").touch()
    (tmp_path / "lora-shell2" / "events.jsonl").touch()
    (tmp_path / "lora-shell2" / f".run.json.tmp-{dead_pid()}-1").write_text("{")
    (tmp_path / "lora-notes").mkdir()
    (tmp_path / "lora-notes" / "notes.txt").write_text("someone's file: not ours to remove")
    store.sweep()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["lora-kept", "lora-notes"]
    assert _reasons(store) == {("lora-notes", "run.json"): "missing: the folder holds no run record"}


def test_a_creation_killed_half_way_leaves_only_what_the_sweep_removes(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    monkeypatch.setattr(runs.os, "rename", lambda *a: (_ for _ in ()).throw(Killed()))
    monkeypatch.setattr(runs.shutil, "rmtree", lambda *a, **k: None)  # killed: nothing cleans up
    with pytest.raises(Killed):
        store.create("lora-half", {"method": "lora"})
    monkeypatch.undo()
    assert store.list() == [] and store.problems == []  # never half a run
    (leftover,) = (p for p in tmp_path.iterdir() if ".tmp-" in p.name)
    assert (leftover / "run.json").is_file()
    leftover.rename(tmp_path / leftover.name.replace(f".tmp-{os.getpid()}-", f".tmp-{dead_pid()}-"))
    store.sweep()  # the process that made it is gone
    assert [p.name for p in tmp_path.iterdir() if p.name != ".sweep.lock"] == []


def test_updating_a_run_that_does_not_exist_makes_no_folder(tmp_path):
    """filelock makes the folder its lock file goes in: renaming an unknown run left a lock-only shell."""
    store = RunStore(tmp_path)
    with pytest.raises(RunNotFound, match="No run 'lora-nope'"):
        store.rename("lora-nope", "x")
    assert not (tmp_path / "lora-nope").exists()
