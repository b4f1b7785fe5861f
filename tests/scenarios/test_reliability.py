"""A workshop in front of one studio: odd input, killed processes, full disks, pokes at security.

Engine, handler and CLI level (the gradio_client side is tests/scenarios/test_multiuser_api.py).
Every case checks two things: a clear message, and that nothing changed or was lost.
Numbers quoted in docs/reliability.md come from these tests.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from studio.config.settings import MAX_DIALOGUE_CHARS, MAX_UPLOAD_BYTES, Settings, TrainConfig
from studio.generate.inference import ORIGINAL, GenerationSettings
from studio.model.base_model import ModelUnavailable
from studio.service.engine import Studio
from studio.service.jobs import QueueFull
from studio.store.runs import RunNotFound, RunStore, clean_name
from studio.ui.handlers import compare as hc
from studio.ui.handlers import evaluate as he
from studio.ui.handlers import runs as hr
from studio.ui.handlers import train as ht
from studio.ui.handlers.choices import run_choices
from studio.ui.handlers.common import COLUMNS, NONE
from tests.form_runs import trained_through_the_form
from tests.studios import offline_studio
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TINY = {"steps": 3, "batch_size": 4, "train_size": 16}
GEN = GenerationSettings(max_new_tokens=8)
FAKE_TOKEN = "hf_reliabilityTestTokenDoNotUse0123456789"
WEIRD_TEXTS = {
    "control characters and NUL": "Anna: hi\x00 there\x07\x1b[31m\nBen: hello\x0b again",
    "right-to-left": "أحمد: هل أنت متفرغ غدا؟\nسارة: نعم، في المساء.\n#Person1#: \u202eevil\u202c ok",
    "emoji": "Anna: 🎉🎉 party at 8? 👩‍👩‍👧\nBen: 👍 see you",
    "HTML and script": "Anna: <script>alert('x')</script><img src=x onerror=alert(1)>\nBen: **bold** [a](javascript:x)",
}


def snapshot(folder: Path) -> dict:
    """Every file under `folder` with its size and modification time: 'nothing changed' made checkable."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def workshop(tmp_path_factory, cache_dir):
    """A studio with one finished run of each method, trained by the session "alice"."""
    studio = offline_studio(tmp_path_factory.mktemp("workshop") / "runs", cache_dir)
    runs = {method: trained_through_the_form(studio, "alice", ht.TrainForm(method=method, name=f"alice {method}",
                                                                           **TINY))
            for method in ("full", "lora", "prompt")}
    return studio, runs


# ------------------------------------------------------------------ 1. bad input: dialogues

@pytest.mark.parametrize("dialogue, message", [
    ("", "empty"), ("  \n\t \n", "empty"), (None, "must be text"), (12345, "must be text"),
    (["Anna: hi"], "must be text"), ("x" * 1_000_000, f"limit is {MAX_DIALOGUE_CHARS:,}"),
    ("\x00\x01\x02", "empty"),
])
def test_bad_dialogues_get_a_message_and_change_nothing(workshop, dialogue, message):
    studio, runs = workshop
    before = snapshot(studio.store.root)
    with pytest.raises(ValueError, match=message) as info:
        hc.compare(studio, dialogue, runs, GEN)
    assert len(str(info.value)) < 200  # a megabyte sent is not a megabyte echoed
    assert snapshot(studio.store.root) == before


@pytest.mark.parametrize("kind", sorted(WEIRD_TEXTS))
def test_odd_but_real_dialogues_are_summarized_as_plain_text(workshop, kind):
    studio, runs = workshop
    columns = hc.compare(studio, WEIRD_TEXTS[kind], runs, GEN)
    assert len(columns) == len(COLUMNS) and all(isinstance(c.text, str) for c in columns)
    for column in columns:
        assert "\x00" not in column.text and "<script" not in column.info


def test_a_run_name_with_markup_is_shown_as_text(workshop):
    studio, runs = workshop
    studio.rename_run(runs["prompt"], "<script>alert(1)</script> **x**", owner="alice")
    try:
        columns = hc.compare(studio, "Anna: hi\nBen: hello", runs, GEN)
        assert "&lt;script&gt;" in columns[3].info and "<script>" not in columns[3].info
        assert "\\*\\*x\\*\\*" in columns[3].info
        assert "&lt;b&gt;again" in hr.rename_run(studio, runs["prompt"], "<b>again</b>", "alice")
    finally:
        studio.rename_run(runs["prompt"], "alice prompt", owner="alice")


# ------------------------------------------------------------------ 1. bad input: numbers and choices

BAD_NUMBERS = [0, -1, -10**12, 10**12, 1e308, float("nan"), float("inf"), "ten", "1e400", "", None, True, [3],
               {"steps": 3}, "9" * 100_000]
FINE_AFTER_ALL = {("seed", 0), ("learning_rate", ""), ("learning_rate", None)}  # a blank rate = the default


@pytest.fixture(scope="module")
def calm(tmp_path_factory, cache_dir):
    """A studio nobody has trained in: refused requests must leave it exactly so."""
    return offline_studio(tmp_path_factory.mktemp("calm") / "runs", cache_dir)


def _bad_numbers():
    for field in ("steps", "batch_size", "train_size", "seed", "lora_r", "learning_rate"):
        for value in BAD_NUMBERS:
            if not any(field == f and type(value) is type(v) and value == v for f, v in FINE_AFTER_ALL):
                yield pytest.param(field, value, id=f"{field}={repr(value)[:16]}")


@pytest.mark.parametrize("field, value", list(_bad_numbers()))
def test_bad_training_numbers_are_refused_before_queueing(calm, field, value):
    form = ht.TrainForm(method="lora", **{**TINY, field: value})
    with pytest.raises(ValueError) as info:
        ht.start_training(calm, "zoe", form)
    assert len(str(info.value)) < 200
    assert calm.jobs.jobs_of("zoe") == [] and calm.store.list() == []


@pytest.mark.parametrize("change, message", [
    ({"method": "qlora"}, "Choose a method"), ({"method": None}, "Choose a method"),
    ({"method": ["lora"]}, "Choose a method"), ({"lora_target_modules": ["q", "../../etc"]}, "Unknown LoRA target"),
    ({"lora_target_modules": "q"}, "must be a list"), ({"lora_target_modules": []}, "at least one"),
    ({"learning_rate": "0"}, "learning rate"), ({"learning_rate": "-1"}, "learning rate"),
    ({"learning_rate": "1e9"}, "learning rate"), ({"learning_rate": "fast"}, "learning rate"),
    ({"method": "prompt", "prompt_init": "zeros"}, "prompt start"),
    ({"method": "prompt", "prompt_init_text": 7}, "must be text"),
    ({"method": "prompt", "prompt_init_text": "x" * 5000}, "limit is 500"),
    ({"method": "prompt", "prompt_num_virtual_tokens": 10**6}, "virtual tokens"),
    ({"name": {"a": 1}}, "must be text"), ({"name": "n" * 100_000}, "limit is 1,000"),
])
def test_out_of_range_choices_and_texts_are_refused(calm, change, message):
    form = ht.TrainForm(**{**dict(method="lora", **TINY), **change})
    with pytest.raises(ValueError, match=message):
        ht.start_training(calm, "zoe", form)
    assert calm.jobs.jobs_of("zoe") == [] and calm.store.list() == []


@pytest.mark.parametrize("tokens, beams", [(0, 1), (-5, 1), (10**6, 1), ("many", 1), (float("nan"), 1),
                                           (64, 0), (64, 99), (64, "two")])
def test_bad_token_counts_are_refused(workshop, tmp_path, tokens, beams):
    studio, _ = workshop
    with pytest.raises(ValueError):
        hc.generation_settings(tokens, beams)
    if beams == 1:
        with pytest.raises(ValueError):
            he.run_evaluation(studio, [ORIGINAL], 2, tokens, tmp_path)


@pytest.mark.parametrize("models, count", [([ORIGINAL], 0), ([ORIGINAL], 10**9), ([ORIGINAL], "all"),
                                           ("original", 2), ([ORIGINAL, 5], 2), ([], 2)])
def test_bad_evaluation_requests_are_refused(workshop, tmp_path, models, count):
    studio, _ = workshop
    with pytest.raises(ValueError):
        he.run_evaluation(studio, models, count, 8, tmp_path)


# ------------------------------------------------------------------ 1. bad input: run ids

PATH_LIKE = ["../../etc", "/etc/passwd", "..", "lora-x/../../etc", "C:\\Windows", "lora-\x00", "%2e%2e%2fetc",
             "x" * 500, "lora-19990101-000000-dead"]


@pytest.mark.parametrize("run_id", PATH_LIKE, ids=lambda v: repr(v)[:20])
def test_path_like_and_unknown_run_ids_touch_nothing(workshop, tmp_path, run_id):
    studio, runs = workshop
    outside = studio.store.root.parent / "victim"
    outside.mkdir(exist_ok=True)
    (outside / "run.json").write_text('{"status": "completed", "method": "lora"}')
    before = snapshot(studio.store.root.parent)
    for action in (lambda: hr.delete_run(studio, run_id, "alice", True),
                   lambda: hr.rename_run(studio, run_id, "mine", "alice"),
                   lambda: hr.zip_run(studio, run_id, tmp_path),
                   lambda: he.run_evaluation(studio, [ORIGINAL, run_id], 2, 8, tmp_path),
                   lambda: studio.summarize([run_id], "Anna: hi\nBen: hello", GEN)):
        with pytest.raises((RunNotFound, ValueError)) as info:
            action()
        assert len(str(info.value)) < 200
    columns = hc.compare(studio, "Anna: hi\nBen: hello", {"full": run_id, "lora": runs["lora"], "prompt": None}, GEN)
    assert columns[1].text == "" and ("not a run" in columns[1].info or "gone" in columns[1].info)
    assert columns[2].text  # the good pick still works
    assert snapshot(studio.store.root.parent) == before
    with pytest.raises(RunNotFound):
        hr.delete_run(studio, "../victim", "alice", True)
    assert (outside / "run.json").exists()


def test_names_are_cleaned_and_capped():
    assert clean_name("  a\x00b\u202ec\nd\te  ") == "a b c d e"
    assert clean_name("مرحبا 👩‍👩‍👧 <b>x</b>") == "مرحبا 👩‍👩‍👧 <b>x</b>"
    assert len(clean_name("n" * 1000)) == 80


def test_rename_refuses_junk_and_keeps_the_old_name(workshop):
    studio, runs = workshop
    for bad in ("", " \x00 \u202e ", "y" * 81, None, 5):
        with pytest.raises(ValueError):
            studio.rename_run(runs["lora"], bad, owner="alice")
    assert studio.store.get(runs["lora"]).name == "alice lora"


def test_delete_needs_a_real_yes(workshop):
    studio, runs = workshop
    for confirmed in ("yes", 1, "true", None, False):
        with pytest.raises(ValueError, match="sure"):
            hr.delete_run(studio, runs["lora"], "alice", confirmed)
    assert studio.store.is_loadable(studio.store.get(runs["lora"]))


# ------------------------------------------------------------------ 1. pressing buttons twice

def test_a_double_click_queues_one_training(studio):
    form = ht.TrainForm(method="lora", steps=2000, batch_size=4, train_size=16)
    results, errors = [], []

    def press():
        try:
            results.append(ht.start_training(studio, "bob", form))
        except QueueFull as exc:
            errors.append(str(exc))

    presses = [threading.Thread(target=press) for _ in range(4)]
    for thread in presses:
        thread.start()
    for thread in presses:
        thread.join()
    assert len(results) == 1 and len(errors) == 3 and "already have a training" in errors[0]
    job = results[0]
    assert ht.stop_training(studio, job.job_id, "bob")
    studio.jobs.wait(job.job_id, timeout=600)
    assert job.status == "stopped"
    again = ht.start_training(studio, "bob", ht.TrainForm(method="lora", **TINY))  # ended: may train again
    studio.jobs.wait(again.job_id, timeout=600)
    assert again.status == "completed"


# ------------------------------------------------------------------ 1. bad input through the CLI

# run_cli (conftest.py) runs `python -m studio ...` in this process.


def _files(tmp_path) -> dict[str, Path]:
    files = {"empty.csv": b"", "latin1.csv": "dialogue,summary\nJos\xe9: hi,greeting\n".encode("latin-1"),
             "nocolumn.csv": b"dialogue,text\nA: hi,x\n", "bad.jsonl": b'{"dialogue": "A: hi", "summ',
             "nul.txt": b"Anna: hi\x00\x00\nBen: hello\x1b[2J", "huge.txt": b"Anna: hi\n" * 120_000,
             "latin1.txt": "Jos\xe9: hola".encode("latin-1")}
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(content)
    paths["toolarge.csv"] = tmp_path / "toolarge.csv"
    with open(paths["toolarge.csv"], "wb") as handle:  # sparse: costs no disk, reads as too large
        handle.truncate(MAX_UPLOAD_BYTES + 1)
    return paths


CLI_CASES = [
    (("data", "--data", "{empty.csv}"), "empty"),
    (("data", "--data", "{latin1.csv}"), "not UTF-8"),
    (("data", "--data", "{nocolumn.csv}"), "lacks a 'summary' column"),
    (("data", "--data", "{bad.jsonl}"), "not JSON"),
    (("data", "--data", "{toolarge.csv}"),
     "is 52,428,801 bytes; the limit is 50 MB (52,428,800 bytes)"),
    (("summarize", "--model", "original", "--file", "{huge.txt}"), "the limit is 20,000"),
    (("summarize", "--model", "original", "--file", "{latin1.txt}"), "not UTF-8"),
    (("summarize", "--model", "original", "--file", "{toolarge.csv}"),
     "is 52,428,801 bytes; the limit is 50 MB (52,428,800 bytes)"),
    (("summarize", "--model", "/etc/passwd", "--text", "hi"), "not a valid run id"),
    (("summarize", "--model", "original", "--text", "hi", "--max-new-tokens", "100000"), "max new tokens"),
    (("summarize", "--model", "original", "--text", "hi", "--max-new-tokens", "0"), "max new tokens"),
    (("train", "--method", "lora", "--steps", "abc"), "invalid int value"),
    (("train", "--method", "lora", "--steps", "99999999"), "steps must be between"),
    (("train", "--method", "lora", "--steps", "3", "--batch-size", "100000"), "batch size"),
    (("train", "--method", "lora", "--steps", "3", "--lr", "0"), "Learning rate"),
    (("train", "--method", "lora", "--steps", "3", "--lr", "inf"), "Learning rate"),
    (("train", "--method", "qlora", "--steps", "3"), "invalid choice"),
    (("train", "--method", "lora", "--steps", "3", "--lora-targets", "q,../../x"), "LoRA target"),
    (("evaluate", "--models", "original", "--limit", "99999999"), "number of dialogues"),
    (("evaluate", "--models", "original", "../../etc"), "not a valid run id"),
]


@pytest.mark.parametrize("argv, message", CLI_CASES, ids=lambda v: " ".join(v)[:40] if isinstance(v, tuple) else v)
def test_cli_refuses_bad_input_with_one_line_and_exit_2(run_cli, tmp_path, argv, message):
    paths = _files(tmp_path)
    argv = [str(paths[a[1:-1]]) if a.startswith("{") else a for a in argv]
    code, out, err = run_cli(*argv)
    assert code == 2, (out, err)
    last = err.strip().splitlines()[-1]
    assert "error: " in last and "Traceback" not in err
    if message:
        assert message.lower() in last.lower()
    assert not list((tmp_path / "runs").glob("*/model"))


def test_cli_summarizes_control_characters_and_nul_bytes_as_text(run_cli, tmp_path):
    paths = _files(tmp_path)
    code, out, err = run_cli("summarize", "--model", "original", "--file", str(paths["nul.txt"]),
                             "--max-new-tokens", "8", "--json")
    assert code == 0, err
    assert isinstance(json.loads(out)["summary"], str)


# ------------------------------------------------------------------ 2. crashes: kill -9 mid-training

def _cli_env(runs_dir: Path, cache_dir: Path, **extra) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", STUDIO_RUNS_DIR=str(runs_dir), STUDIO_CACHE_DIR=str(cache_dir),
               STUDIO_DATA="bundled", **extra)
    for name in ("STUDIO_BASE_MODEL", "STUDIO_ALLOWED_MODELS"):
        env.pop(name, None)
    return env


def _new_run_dir(runs_dir: Path, known: set[str]) -> Path | None:
    fresh = [p for p in runs_dir.iterdir() if p.is_dir() and p.name not in known and not p.name.startswith(".")]
    return fresh[0] if fresh else None


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=600)  # reaped: a zombie would still look alive to the start-up sweep


@pytest.mark.slow
def test_sigkill_mid_training_loses_no_earlier_run(settings, cache_dir, tmp_path):
    studio = Studio(settings)
    earlier = studio.submit_training("prompt", TrainConfig(**TINY), owner="alice")
    studio.jobs.wait(earlier.job_id, timeout=600)
    assert earlier.status == "completed"
    expected = studio.summarize([earlier.run_id], "Anna: Lunch?\nBen: Sure, at noon.", GEN)[0].text
    runs_dir = settings.runs_dir
    known = {p.name for p in runs_dir.iterdir()}
    with open(tmp_path / "train.log", "w") as log:  # the child keeps its own copy of the handle
        process = subprocess.Popen([sys.executable, "-m", "studio", "train", "--method", "lora", "--steps", "2000",
                                    "--batch-size", "4", "--train-size", "16", "--json"], cwd=ROOT,
                                   env=_cli_env(runs_dir, cache_dir), stdout=log, stderr=subprocess.STDOUT)
    try:
        def training_started():
            assert process.poll() is None, (tmp_path / "train.log").read_text()
            folder = _new_run_dir(runs_dir, known)
            events = folder / "events.jsonl" if folder else None
            return events is not None and events.exists() and '"type": "step"' in events.read_text()
        wait_until(training_started, timeout=600)
    finally:
        _kill(process)
    killed = _new_run_dir(runs_dir, known).name
    assert json.loads((runs_dir / killed / "run.json").read_text())["status"] == "running"

    started = time.perf_counter()
    restarted = Studio(settings)  # the next start
    events = restarted.store.events(killed)
    print(f"\nkill -9 after step {len(events) and events[-1].get('step')}"
          f" of 2000; next start swept in {time.perf_counter() - started:.2f} s")
    assert restarted.interrupted == [killed]
    record = restarted.store.get(killed)
    assert record.status == "interrupted" and "ended before it finished" in record.error
    assert restarted.store.events(killed)  # the loss curve so far is kept
    assert killed not in {r.run_id for r in restarted.loadable_runs()}
    assert killed not in [value for _, value in run_choices(restarted, "lora")]
    with pytest.raises(RunNotFound):
        restarted.summarize([killed], "Anna: hi\nBen: hello", GEN)
    assert restarted.summarize([earlier.run_id], "Anna: Lunch?\nBen: Sure, at noon.", GEN)[0].text == expected
    assert "interrupted" in hr.runs_table(restarted.store.list()).set_index("Run id").loc[killed, "Status"]
    from studio.ui.handlers.notices import notice_html
    assert "1 run was interrupted" in notice_html(restarted)  # the notice above the tabs


SLOW_SAVE = textwrap.dedent("""
    import sys, time
    from studio import cli
    from studio.store.runs import RunStore

    finish = RunStore.finish

    def slow_finish(self, run_id, status, save_model=None, **fields):
        if save_model is not None:
            real_save = save_model

            def save_model(folder):
                real_save(folder)             # the model is written into model.tmp-*/ ...
                print("SAVED-INTO-TMP", flush=True)
                time.sleep(600)               # ... and the process dies before the rename
        return finish(self, run_id, status, save_model=save_model, **fields)

    RunStore.finish = slow_finish
    sys.exit(cli.main(sys.argv[1:]))
""")


@pytest.mark.slow
def test_a_kill_during_the_save_leaves_nothing_half_written(settings, cache_dir, tmp_path):
    studio = Studio(settings)
    earlier = studio.submit_training("lora", TrainConfig(**TINY), owner="alice")
    studio.jobs.wait(earlier.job_id, timeout=600)
    runs_dir = settings.runs_dir
    known = {p.name for p in runs_dir.iterdir()}
    log_path = tmp_path / "save.log"
    with open(log_path, "w") as log:  # the child keeps its own copy of the handle
        process = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, "train", "--method", "full", "--steps", "3",
                                    "--batch-size", "4", "--train-size", "16"], cwd=ROOT,
                                   env=_cli_env(runs_dir, cache_dir), stdout=log, stderr=subprocess.STDOUT)
    try:
        def saving():
            assert process.poll() is None, log_path.read_text()
            return "SAVED-INTO-TMP" in log_path.read_text()
        wait_until(saving, timeout=600)
        half = _new_run_dir(runs_dir, known)
        tmp_models = list(half.glob("model.tmp-*"))
        assert tmp_models and any(tmp_models[0].glob("*.safetensors"))
        # While it is half-saved, nothing offers it as a model.
        store = RunStore(runs_dir)
        assert not (half / "model").exists()
        assert half.name not in {r.run_id for r in store.list(loadable_only=True)}
    finally:
        _kill(process)

    restarted = Studio(settings)
    assert restarted.interrupted == [half.name]
    assert not list(half.glob("model.tmp-*")) and not (half / "model").exists()
    assert restarted.store.get(half.name).status == "interrupted"
    with pytest.raises(RunNotFound):
        restarted.store.require_loadable(half.name)
    with pytest.raises(RunNotFound):
        restarted.summarize([half.name], "Anna: hi\nBen: hello", GEN)
    assert [value for _, value in run_choices(restarted, "full")] == [NONE]
    assert restarted.summarize([earlier.run_id], "Anna: hi\nBen: hello", GEN)[0].text


# ------------------------------------------------------------------ 2. crashes: full disk, out of memory

def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_during_the_save_fails_the_run_and_keeps_the_others(studio, monkeypatch):
    import peft

    earlier = ht.start_training(studio, "alice", ht.TrainForm(method="full", **TINY))
    studio.jobs.wait(earlier.job_id, timeout=600)
    before = snapshot(studio.store.path(earlier.run_id))

    def half_then_full(self, folder, *args, **kwargs):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "adapter_model.safetensors").write_bytes(b"\0" * 64)  # half written
        _disk_full()

    monkeypatch.setattr(peft.PeftModel, "save_pretrained", half_then_full)
    job = ht.start_training(studio, "alice", ht.TrainForm(method="lora", **TINY))
    studio.jobs.wait(job.job_id, timeout=600)
    assert job.status == "failed" and "No space left on device" in job.error
    view = ht.job_view(studio, job)
    assert view.status.startswith("**Failed:**") and "disk is full" in view.status
    failed = studio.store.path(job.run_id)
    assert json.loads((failed / "run.json").read_text())["status"] == "failed"
    assert not (failed / "model").exists() and not list(failed.glob("model.tmp-*"))
    assert job.run_id not in {r.run_id for r in studio.loadable_runs()}
    assert snapshot(studio.store.path(earlier.run_id)) == before
    assert studio.summarize([earlier.run_id], "Anna: hi\nBen: hello", GEN)[0].text

    monkeypatch.undo()  # space again: the app goes on
    again = ht.start_training(studio, "alice", ht.TrainForm(method="lora", **TINY))
    studio.jobs.wait(again.job_id, timeout=600)
    assert again.status == "completed"


def test_a_full_disk_while_recording_the_run_leaves_a_readable_unloadable_run(studio, monkeypatch):
    from studio.store import runs

    real_write = runs.write_json_atomic

    def full_at_the_end(path, payload):
        if payload.get("status") != "running":
            _disk_full()
        real_write(path, payload)

    monkeypatch.setattr(runs, "write_json_atomic", full_at_the_end)
    job = ht.start_training(studio, "alice", ht.TrainForm(method="lora", **TINY))
    studio.jobs.wait(job.job_id, timeout=600)
    monkeypatch.undo()
    assert job.status == "failed" and "No space left on device" in job.error
    assert "disk is full" in ht.job_view(studio, job).status
    record = json.loads((studio.store.path(job.run_id) / "run.json").read_text())  # still whole JSON
    assert record["status"] == "running"  # never claims completion it could not record
    assert not studio.store.is_loadable(studio.store.get(job.run_id))
    assert studio.store.get(job.run_id).status == "failed"  # the final state: kept in memory, then written
    assert json.loads((studio.store.path(job.run_id) / "run.json").read_text())["status"] == "failed"


def test_out_of_memory_says_why_and_the_app_goes_on(studio, monkeypatch):
    import torch

    from studio.train import training

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(training.Trainer, "train", oom)
    job = ht.start_training(studio, "carol", ht.TrainForm(method="full", **TINY))
    studio.jobs.wait(job.job_id, timeout=600)
    assert job.status == "failed"
    assert "smaller batch size" in ht.job_view(studio, job).status
    monkeypatch.undo()
    assert ht.active_job_id(studio, "carol") is None  # the failed job does not block the session
    again = ht.start_training(studio, "carol", ht.TrainForm(method="lora", **TINY))
    studio.jobs.wait(again.job_id, timeout=600)
    assert again.status == "completed"
    assert studio.summarize([ORIGINAL, again.run_id], "Anna: hi\nBen: hello", GEN)


# ------------------------------------------------------------------ 3. sessions cannot touch each other's work

def test_sessions_cannot_stop_rename_or_delete_each_others_work(workshop):
    studio, runs = workshop
    job = ht.start_training(studio, "dave", ht.TrainForm(method="lora", steps=2000, batch_size=4, train_size=16))
    try:
        wait_until(lambda: job.latest("step") is not None)
        for intruder in ("mallory", "", None):
            with pytest.raises((PermissionError, ValueError)):
                ht.stop_training(studio, job.job_id, intruder)
        assert job.status == "running" and not job.stop_requested
        for run_id in runs.values():
            with pytest.raises(PermissionError):
                hr.delete_run(studio, run_id, "mallory", True)
            with pytest.raises(PermissionError):
                hr.rename_run(studio, run_id, "pwned", "mallory")
        assert {studio.store.get(r).name for r in runs.values()} == {f"alice {m}" for m in runs}
    finally:
        ht.stop_training(studio, job.job_id, "dave")
        studio.jobs.wait(job.job_id, timeout=600)
    assert job.status == "stopped"


# ------------------------------------------------------------------ 4. security

def test_only_allow_listed_base_models_load(tmp_path, cache_dir, run_cli, monkeypatch):
    common = {"offline": True, "data": "bundled", "runs_dir": tmp_path / "runs", "cache_dir": cache_dir}
    allow = {"STUDIO_ALLOWED_MODELS": "google/flan-t5-small, ./models/approved"}
    with pytest.raises(ModelUnavailable, match="allow-list"):
        Studio(Settings.from_env(env={**allow, "STUDIO_BASE_MODEL": "someone/evil-t5"}, **common))
    with pytest.raises(ModelUnavailable, match="allow-list"):  # a flag beats the environment, not the list
        Studio(Settings.from_env(env=allow, base_model=str(cache_dir), **common))
    assert Studio(Settings.from_env(env=allow, **common)).base.is_standin  # the default is listed
    # Without a list, whoever starts the app names the model (and only that one is allowed).
    assert Settings.from_env(env={"STUDIO_BASE_MODEL": "x/y"}).allowed_base_models == ("x/y",)
    monkeypatch.setenv("STUDIO_ALLOWED_MODELS", "google/flan-t5-small")
    code, _, err = run_cli("summarize", "--base-model", "/etc", "--model", "original", "--text", "hi")
    assert code == 2 and "allow-list" in err


def _copy_run(store: RunStore, source: str, target: str) -> Path:
    import shutil

    shutil.copytree(store.path(source), store.root / target)
    record = json.loads((store.root / target / "run.json").read_text())
    record.update(run_id=target, name=target)
    (store.root / target / "run.json").write_text(json.dumps(record))
    return store.root / target / "model"


def test_only_safetensors_are_ever_loaded(workshop):
    studio, runs = workshop
    pickled = _copy_run(studio.store, runs["lora"], "lora-pickled")
    (pickled / "adapter_model.safetensors").rename(pickled / "adapter_model.bin")
    mixed = _copy_run(studio.store, runs["full"], "full-mixed")
    (mixed / "pytorch_model.bin").write_bytes(b"not loaded")
    try:
        for run_id in ("lora-pickled", "full-mixed"):
            assert run_id not in {r.run_id for r in studio.loadable_runs()}
            with pytest.raises(RunNotFound, match="no saved model"):
                studio.summarize([run_id], "Anna: hi\nBen: hello", GEN)
    finally:
        studio.store.delete("lora-pickled")
        studio.store.delete("full-mixed")


def test_remote_code_in_a_run_folder_never_runs(workshop, tmp_path):
    studio, runs = workshop
    model = _copy_run(studio.store, runs["full"], "full-remote-code")
    marker = tmp_path / "remote-code-ran"
    (model / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n"
                                   "from transformers import T5Config as EvilConfig, "
                                   "T5ForConditionalGeneration as EvilModel\n")
    for name, mapping in (("config.json", {"AutoConfig": "evil.EvilConfig",
                                           "AutoModelForSeq2SeqLM": "evil.EvilModel"}),
                          ("tokenizer_config.json", {"AutoTokenizer": ["evil.EvilConfig", None]})):
        config = json.loads((model / name).read_text())
        config["auto_map"] = mapping
        (model / name).write_text(json.dumps(config))
    try:
        with contextlib.suppress(Exception):  # refusing is fine too; running the code is not
            studio.summarize(["full-remote-code"], "Anna: hi\nBen: hello", GEN)
        assert not marker.exists()
    finally:
        studio.pool.forget("full-remote-code")
        studio.store.delete("full-remote-code")


def test_the_engine_never_unpickles_or_trusts_remote_code():
    for path in (ROOT / "studio").rglob("*.py"):
        source = path.read_text()
        assert "trust_remote_code=True" not in source, path
        assert "torch.load(" not in source and "pickle.load" not in source, path


@pytest.mark.slow  # the one true `python -m studio train --json` subprocess
def test_tokens_never_reach_run_records_or_cli_output(tmp_path, cache_dir, run_cli, monkeypatch):
    runs_dir = tmp_path / "runs"
    env = _cli_env(runs_dir, cache_dir, HF_TOKEN=FAKE_TOKEN, HUGGING_FACE_HUB_TOKEN=FAKE_TOKEN)
    proc = subprocess.run([sys.executable, "-m", "studio", "train", "--method", "lora", "--steps", "2",
                           "--batch-size", "4", "--train-size", "16", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    # The listing in-process (run_cli reads the same runs folder), with the tokens in its environment too.
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.setenv(name, FAKE_TOKEN)
    code, listing_out, listing_err = run_cli("runs", "--json")
    assert code == 0 and json.loads(listing_out), listing_err
    seen = proc.stdout + proc.stderr + listing_out + listing_err
    seen += "".join(p.read_text(errors="replace") for p in runs_dir.rglob("*") if p.is_file()
                    and p.suffix in (".json", ".jsonl", ".md", ""))
    assert FAKE_TOKEN not in seen and "HF_TOKEN" not in seen
    record = json.loads(next(runs_dir.glob("*/run.json")).read_text())
    assert not {"env", "environ", "environment", "token"} & set(record)


def test_launch_options_limit_uploads_and_file_access(settings):
    from huggingface_hub import constants

    from studio.ui.app import launch_options

    options = launch_options(settings)
    assert options["max_file_size"] == MAX_UPLOAD_BYTES
    assert "allowed_paths" not in options
    blocked = options["blocked_paths"]
    assert str(Path(settings.runs_dir).resolve()) in blocked and str(ROOT) in blocked
    assert str(Path(constants.HF_HOME).resolve()) in blocked
