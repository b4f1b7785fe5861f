"""The run store under the faults a hostile session tried: records of the wrong shape, a full disk while recording,
a second process sweeping, a killed training listed, CLI input that never ends, and what a shared zip shows."""
from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from studio.config.settings import TrainConfig
from studio.service.engine import Studio
from studio.service.owner_tokens import owner_hash
from studio.store.runs import RunStore
from studio.ui.handlers import runs as hr
from studio.ui.handlers import train as ht
from tests.conftest import TINY_TRAIN
from tests.dead_process import dead_pid
from tests.studios import offline_studio
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(steps=3, **TINY_TRAIN)


def _cli_env(runs_dir: Path, cache_dir: Path) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", STUDIO_RUNS_DIR=str(runs_dir), STUDIO_CACHE_DIR=str(cache_dir),
               STUDIO_DATA="bundled")
    for name in ("STUDIO_BASE_MODEL", "STUDIO_ALLOWED_MODELS"):
        env.pop(name, None)
    return env


# run_cli (conftest.py) runs `python -m studio ...` in this process.


def _orphan(store: RunStore, run_id: str, owner: str = "alice", status: str = "running") -> Path:
    """A run whose training process has died, as `kill -9` leaves it."""
    store.create(run_id, {"method": "lora", "name": run_id, "owner_hash": owner_hash(owner)})
    path = store.path(run_id) / "run.json"
    record = json.loads(path.read_text())
    record["process"]["pid"] = dead_pid()
    record["status"] = status
    path.write_text(json.dumps(record))
    return path


# ------------------------------------------------------------------ the owner from creation on

def test_the_owner_is_recorded_before_training_and_may_rename_while_it_trains(studio):
    seen = {}
    job = studio.submit_training("lora", TrainConfig(steps=400, **TINY_TRAIN), owner="alice")
    try:
        wait_until(lambda: job.latest("step") is not None)
        on_disk = json.loads((studio.store.path(job.run_id) / "run.json").read_text())
        seen.update(status=on_disk["status"], owner=on_disk.get("owner_hash"), process=on_disk.get("process"))
        with pytest.raises(PermissionError):
            studio.rename_run(job.run_id, "not yours", owner="mallory")
        assert studio.rename_run(job.run_id, "renamed mid-run", owner="alice").name == "renamed mid-run"
        with pytest.raises(ValueError, match="still training"):
            studio.delete_run(job.run_id, owner="alice")
    finally:
        studio.jobs.stop(job.job_id, "alice")
        studio.jobs.wait(job.job_id, timeout=600)
    assert seen["status"] == "running" and seen["owner"] == owner_hash("alice")
    assert seen["process"]["pid"] == os.getpid() and "owner" not in on_disk
    record = studio.store.get(job.run_id)
    assert record.status == "stopped" and record.name == "renamed mid-run"  # the rename was not lost
    assert record.owner_hash == owner_hash("alice")


def test_an_interrupted_run_can_be_deleted_by_its_session_only(studio):
    _orphan(studio.store, "lora-killed", owner="alice")
    assert studio.store.get("lora-killed").status == "interrupted"
    with pytest.raises(PermissionError):
        hr.delete_run(studio, "lora-killed", "mallory", True)
    assert "Deleted" in hr.delete_run(studio, "lora-killed", "alice", True)
    assert studio.store.list() == []


# ------------------------------------------------------------------ a full disk while recording

def test_a_full_disk_while_recording_leaves_the_run_failed_not_running(studio, monkeypatch):
    """A full disk as a run meets it: ENOSPC on every write of the final record, then space again."""
    from studio.store import runs

    real_write, refused = runs.write_json_atomic, []

    def disk_full_at_the_end(path, payload):
        if payload.get("status") != "running" and len(refused) < 3:
            refused.append(payload["status"])
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, payload)

    monkeypatch.setattr(runs, "write_json_atomic", disk_full_at_the_end)
    job = ht.start_training(studio, "alice", ht.TrainForm(method="lora", **TINY))
    studio.jobs.wait(job.job_id, timeout=600)
    assert job.status == "failed" and "disk is full" in job.error and "No space left" in job.error
    with pytest.raises(ValueError, match="already ended"):
        ht.stop_training(studio, job.job_id, "alice")
    on_disk = studio.store.path(job.run_id) / "run.json"
    assert json.loads(on_disk.read_text())["status"] == "running"  # the disk still refuses ...
    assert studio.store.get(job.run_id).status == "failed"      # ... but the store tells the truth
    assert refused == ["completed", "failed", "failed"]            # (that read retried the write)
    table = hr.runs_table(studio.store.list()).set_index("Run id")
    assert table.loc[job.run_id, "Status"] == "failed"
    assert json.loads(on_disk.read_text())["status"] == "failed"   # space again: the retry wrote it
    assert "disk is full" in json.loads(on_disk.read_text())["error"]
    assert "Deleted" in hr.delete_run(studio, job.run_id, "alice", True)


# ------------------------------------------------------------------ a second process sweeps

@pytest.mark.slow  # the CLI must be another process
def test_a_cli_command_while_the_app_saves_leaves_the_save_alone(studio, cache_dir):
    """The app (this process) is half-way through saving a full model when a CLI command starts."""
    studio.store.create("full-saving", {"method": "full", "owner_hash": owner_hash("alice")})
    saving = studio.store.path("full-saving") / f"model.tmp-{os.getpid()}"
    saving.mkdir()
    (saving / "model.safetensors").write_bytes(b"\0" * 1024)
    env = _cli_env(studio.settings.runs_dir, cache_dir)
    proc = subprocess.run([sys.executable, "-m", "studio", "summarize", "--model", "original", "--text",
                           "Anna: hi\nBen: hello", "--max-new-tokens", "4", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (saving / "model.safetensors").read_bytes() == b"\0" * 1024
    assert studio.store.get("full-saving").status == "running"
    assert Studio(studio.settings).interrupted == []  # another start in a live process changes nothing


# ------------------------------------------------------------------ records of the wrong shape

BAD = {"list": "[]", "null": "null", "owner": '{"status": "running", "owner": "x"}',
       "created": '{"method": "lora", "status": "completed", "created_at": 5}',
       "metrics": '{"method": "lora", "status": "completed", "created_at": "2026-01-01", "metrics": "x"}'}


def test_the_app_and_the_cli_start_with_bad_records_and_report_them(settings, run_cli, tmp_path):
    runs_dir = tmp_path / "runs"
    store = RunStore(runs_dir)
    store.create("lora-good", {"method": "lora"})
    store.finish("lora-good", "failed", error="kept to be listed")
    for name, text in BAD.items():
        (runs_dir / f"lora-{name}").mkdir()
        (runs_dir / f"lora-{name}" / "run.json").write_text(text)
    with open(runs_dir / "lora-good" / "events.jsonl", "a") as handle:
        handle.write("5\n")

    code, out, err = run_cli("runs", "--json")
    assert code == 0, err
    listing = json.loads(out)
    assert [r["run_id"] for r in listing["runs"]] == ["lora-good"]
    # Every bad record, and the garbage in the good run's loss curve, which the listing alone never
    # read before (so it reported nothing).
    assert {(p["run_id"], p["file"]) for p in listing["skipped"]} == \
        {(f"lora-{name}", "run.json") for name in BAD} | {("lora-good", "events.jsonl")}
    assert "Traceback" not in err

    from studio.ui.app import build_app
    from studio.ui.handlers.notices import notice_html

    app_studio = offline_studio(runs_dir, settings.cache_dir)
    assert "6 run file(s) could not be read" in notice_html(app_studio)  # the notice above the tabs
    assert app_studio.store.events("lora-good") == []
    assert ("lora-good", "events.jsonl") in {(p["run_id"], p["file"]) for p in app_studio.store.problems}
    assert hr.runs_table(app_studio.store.list())["Run id"].tolist() == ["lora-good"]
    build_app(app_studio)  # the whole UI builds over them


# ------------------------------------------------------------------ a killed training, listed

@pytest.mark.slow
def test_a_killed_training_lists_as_interrupted_and_listing_writes_nothing(tmp_path, cache_dir, run_cli):
    runs_dir = tmp_path / "runs"
    env = _cli_env(runs_dir, cache_dir)
    log_path = tmp_path / "train.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "studio", "train", "--method", "lora", "--steps", "3000",
                                    "--batch-size", "4", "--train-size", "16", "--json"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            def first_event_written():
                assert process.poll() is None, log_path.read_text()
                events = list(runs_dir.glob("*/events.jsonl")) if runs_dir.is_dir() else []
                return bool(events) and events[0].read_text().strip() != ""
            wait_until(first_event_written)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=600)
    record_path = next(runs_dir.glob("*/run.json"))
    before = record_path.read_bytes(), record_path.stat().st_mtime_ns
    assert json.loads(before[0])["status"] == "running"

    code, out, err = run_cli("runs", "--json")  # the trainer is dead: listing from here is another process
    assert code == 0, err
    (run,) = json.loads(out)["runs"]
    assert run["status"] == "interrupted" and "ended before it finished" in run["error"]
    assert (record_path.read_bytes(), record_path.stat().st_mtime_ns) == before  # listing changed nothing
    _, plain, _ = run_cli("runs")
    assert "interrupted" in plain and "running" not in plain


# ------------------------------------------------------------------ CLI input

@pytest.mark.parametrize("argv", [("summarize", "--model", "original", "--file", "/dev/zero"),
                                  ("summarize", "--model", "original", "--file", "/dev/urandom"),
                                  ("score", "--predictions", "/dev/zero", "--references", "/dev/zero")])
def test_endless_files_are_read_only_to_the_limit_and_refused(run_cli, argv):
    code, _, err = run_cli(*argv)
    assert code == 2, err
    assert err.strip().splitlines()[-1].startswith("error: ") and "the limit is 50 MB" in err
    assert "Traceback" not in err


def test_a_file_one_byte_over_the_limit_says_so_precisely(run_cli, tmp_path):
    from studio.config.settings import MAX_UPLOAD_BYTES

    big = tmp_path / "big.txt"
    with open(big, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)
    code, _, err = run_cli("summarize", "--model", "original", "--file", str(big))
    assert code == 2 and f"{MAX_UPLOAD_BYTES + 1:,} bytes" in err and f"{MAX_UPLOAD_BYTES:,} bytes" in err


@pytest.mark.parametrize("where", ["file", "under-file"])
@pytest.mark.parametrize("how", ["flag", "env"])
@pytest.mark.parametrize("command", [("runs",), ("delete", "lora-x"), ("summarize", "--model", "original",
                                                                       "--text", "hi")])
def test_a_runs_folder_that_is_a_file_is_one_error_line(run_cli, monkeypatch, tmp_path, where, how, command):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    runs_dir = blocker if where == "file" else blocker / "runs"
    if how == "env":
        monkeypatch.setenv("STUDIO_RUNS_DIR", str(runs_dir))
        code, out, err = run_cli(*command)
    else:
        code, out, err = run_cli(*command, "--runs-dir", str(runs_dir))
    assert code == 2, (out, err)
    assert err.strip().count("\n") == 0 and err.startswith("error: ") and str(blocker) in err
    assert blocker.read_text() == "x"


@pytest.mark.slow  # starts app.py
def test_the_app_with_a_runs_folder_that_is_a_file_says_why_without_a_traceback(tmp_path, cache_dir):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    env = _cli_env(blocker / "runs", cache_dir)
    proc = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and f"error: The runs folder {blocker}" in proc.stderr


# ------------------------------------------------------------------ CLI delete / rename

def test_cli_renames_and_deletes_any_run_and_refuses_unknown_ids(run_cli, tmp_path):
    store = RunStore(tmp_path / "runs")
    _orphan(store, "lora-cli", owner="someone")
    code, out, err = run_cli("rename", "lora-cli", "  from the  CLI ", "--json")
    assert code == 0, err
    assert json.loads(out) == {"run_id": "lora-cli", "name": "from the CLI"}
    assert store.get("lora-cli").name == "from the CLI"
    for argv, message in ((("rename", "lora-nope", "x"), "No run 'lora-nope'"),
                          (("delete", "lora-nope"), "No run 'lora-nope'"),
                          (("delete", "../etc"), "not a valid run id"),
                          (("delete", "lora-cli\n"), "not a valid run id"),
                          (("rename", "lora-cli", ""), "cannot be empty")):
        code, out, err = run_cli(*argv)
        assert code == 2 and message in err and err.count("\n") == 1, (argv, err)
    code, out, err = run_cli("delete", "lora-cli", "--json")
    assert code == 0 and json.loads(out) == {"run_id": "lora-cli", "deleted": True}
    assert store.list() == [] and not (tmp_path / "runs" / "lora-cli").exists()


def test_cli_will_not_delete_a_run_that_is_training(run_cli, tmp_path):
    store = RunStore(tmp_path / "runs")
    store.create("lora-live", {"method": "lora"})  # this very process is training it
    code, _, err = run_cli("delete", "lora-live")
    assert code == 2 and "still training" in err
    assert store.get("lora-live").status == "running"


# ------------------------------------------------------------------ the shared zip

def test_a_runs_zip_holds_no_home_path_host_name_or_pid(trained, tmp_path, monkeypatch):
    studio, runs = trained
    home = Path(studio.store.root).parents[1]  # stands in for the server's home: runs and cache sit under it
    monkeypatch.setenv("HOME", str(home))
    host, pid = socket.gethostname(), str(os.getpid())
    secrets_seen = {}
    for method, run_id in runs.items():
        path = hr.zip_run(studio, run_id, tmp_path / method)
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            texts = {n: archive.read(n).decode("utf-8", "replace") for n in names}
        assert "run.json" in names and "events.jsonl" in names and any(n.startswith("model/") for n in names)
        assert not any(n.startswith(".") or "/." in n or ".tmp-" in n for n in names)
        for name, text in texts.items():
            for label, secret in (("home", str(home)), ("runs", str(studio.store.root)), ("base", studio.base.path)):
                if secret in text:
                    secrets_seen[(method, name)] = label
            # A host name or pid is a short word or number: look for it as a whole word in what is
            # not weights or vocabulary (a 2-letter host name turns up in any binary by chance).
            if name.endswith(("tokenizer.json", "spiece.model", ".safetensors")):
                continue
            for label, secret in (("host", re.escape(host)), ("pid", pid)):
                if re.search(rf"(?<![\w.-]){secret}(?![\w.-])", text):
                    secrets_seen[(method, name)] = label
        record = json.loads(texts["run.json"])
        assert not {"process", "owner", "owner_hash", "traceback", "base_model_path"} & set(record)
        assert record["base_model"] == studio.base.name and record["run_id"] == run_id
        if method != "full":
            adapter = json.loads(texts["model/adapter_config.json"])
            assert adapter["base_model_name_or_path"] == studio.base.name
        assert texts["events.jsonl"] == (studio.store.path(run_id) / "events.jsonl").read_text()
    assert secrets_seen == {}
    # On disk the run keeps what the server needs.
    assert studio.store.get(runs["lora"]).base_model_path == studio.base.path


# ------------------------------------------------------------------ files no parser should trust

def test_a_nested_or_non_utf8_run_json_stops_neither_the_app_nor_the_cli(settings, run_cli, tmp_path):
    """A bug this reproduces: 100,000 nested `[` made `runs` print a traceback and the app exit at its
    start-up sweep; a run.json with a non-UTF-8 byte vanished from every listing without a word."""
    runs_dir = tmp_path / "runs"
    store = RunStore(runs_dir)
    store.create("lora-good", {"method": "lora"})
    store.finish("lora-good", "failed", error="kept to be listed")
    good = (runs_dir / "lora-good" / "run.json").read_bytes()
    for run_id, content in (("lora-nested", b"[" * 100_000), ("lora-latin1", good.replace(b"kept", b"k\xe9pt"))):
        (runs_dir / run_id).mkdir()
        (runs_dir / run_id / "run.json").write_bytes(content)

    code, out, err = run_cli("runs", "--json")
    assert code == 0 and "Traceback" not in err, err
    listing = json.loads(out)
    assert [r["run_id"] for r in listing["runs"]] == ["lora-good"]
    reasons = {p["run_id"]: p["reason"] for p in listing["skipped"]}
    assert reasons["lora-nested"].startswith("nested more than 32 levels")
    assert reasons["lora-latin1"].startswith("not UTF-8 text (byte 0xe9")

    app_studio = offline_studio(runs_dir, settings.cache_dir)  # the start-up sweep
    from studio.ui.handlers.notices import notice_html

    assert "2 run file(s) could not be read" in notice_html(app_studio)
    assert [r.run_id for r in app_studio.runs()] == ["lora-good"]


# ------------------------------------------------------------------ `pull` killed part-way

KILLED_PULL = """
import os, shutil, signal, sys

def kill_after(function, when):
    def wrapped(*args, **kwargs):
        out = function(*args, **kwargs)
        if when(*args):
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    return wrapped

if sys.argv[2] == "model-in-place":  # model/ renamed into place, run.json not yet final
    landed = lambda src, dst, *rest: os.path.basename(str(dst)) == "model"
    os.replace, os.rename = kill_after(os.replace, landed), kill_after(os.rename, landed)
else:  # the weights copied, nothing else done yet
    weights = lambda *args: any(str(getattr(a, "name", a)).endswith(".safetensors") for a in args[:2])
    shutil.copy2 = kill_after(shutil.copy2, weights)
    shutil.copyfileobj = kill_after(shutil.copyfileobj, weights)
from studio.cli import main
sys.exit(main(["pull", sys.argv[1], "--json"]))
"""


@pytest.mark.slow  # the CLI must be another process, to be killed
@pytest.mark.parametrize("stage", ["model-in-place", "weights-copied"])
def test_a_pull_killed_part_way_leaves_the_whole_run_or_nothing(studio, tmp_path, cache_dir, stage):
    """A bug this reproduces, for `pull`: killed once model/ was in place, the run came back `interrupted`,
    "has no saved model", though model/ loads."""
    from peft import LoraConfig, TaskType, get_peft_model

    from studio.model.base_model import load_base

    model, _ = load_base(studio.base.path)
    adapter = tmp_path / "adapter"
    get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=2, target_modules=["q", "v"])) \
        .save_pretrained(adapter)
    env = _cli_env(studio.settings.runs_dir, cache_dir)
    subprocess.run([sys.executable, "-c", KILLED_PULL, str(adapter), stage], cwd=ROOT, env=env,
                   capture_output=True, text=True, timeout=300, check=False)

    after_restart = RunStore(studio.settings.runs_dir)
    after_restart.sweep()
    listed = after_restart.list()
    assert [r.status for r in listed] in ([], ["completed"])  # never an interrupted half-import
    for record in listed:
        assert after_restart.is_loadable(record)
    leftovers = [p.name for p in studio.settings.runs_dir.iterdir() if not p.name.startswith(".")]
    assert leftovers == [r.run_id for r in listed]
    assert after_restart.problems == []
