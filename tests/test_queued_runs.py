"""Queued trainings survive a restart as records their owners see.

Before: A trains, B's training waits in the queue, the app is killed and restarted: B had no
folder, no record, no message. Now each queued training is kept on disk until its run exists,
and a studio that starts after its owner's studio died shows it as never started, with why.
"""
from __future__ import annotations

import json
import threading

from studio.config.settings import TrainConfig
from studio.store.queued_runs import NEVER_STARTED, QUEUED, QueuedRuns
from studio.store.runs import RunStore
from studio.train.outcome import NoRecord
from tests.conftest import TINY_TRAIN
from tests.dead_process import dead_pid
from tests.waiting import wait_until


def _as_if_killed(runs_dir):
    """kill -9 of the studio that queued them: each promise now names a process that is gone."""
    for path in (runs_dir / QUEUED).glob("*.json"):
        promise = json.loads(path.read_text())
        promise["process"] = {**promise["process"], "pid": dead_pid()}
        path.write_text(json.dumps(promise))


def test_a_training_queued_when_the_studio_died_is_shown_to_its_owner_after_a_restart(settings):
    from studio.service.engine import Studio

    studio = Studio(settings)
    gate = threading.Event()
    studio.jobs._run_fn = lambda *args, **kwargs: (gate.wait(), NoRecord("test"))[1]
    anna = studio.submit_training("lora", TrainConfig(steps=5, **TINY_TRAIN), owner="anna-token", client="anna",
                                  name="anna's lora")
    wait_until(lambda: anna.status == "running")
    ben = studio.submit_training("full", TrainConfig(steps=7, **TINY_TRAIN), owner="ben-token", client="ben",
                                 name="ben's full run")
    assert ben.status == "queued"
    _as_if_killed(settings.runs_dir)

    restarted = Studio(settings)
    record = restarted.run(ben.run_id)
    assert record.status == "interrupted" and record.never_started is True
    assert record.error == NEVER_STARTED and "never started" in record.error
    assert record.name == "ben's full run" and record.method == "full"
    assert record.hyperparameters["steps"] == 7
    assert restarted.owns(record, "ben-token") and not restarted.owns(record, "anna-token")
    assert ben.run_id in restarted.never_started
    assert ben.run_id not in {r.run_id for r in restarted.loadable_runs()}   # nothing to summarize with
    assert not list((settings.runs_dir / QUEUED).glob("*.json"))                 # each promise settled once
    # The page says so, and the owner can delete the record.
    from studio.ui.handlers.notices import notice_facts

    headlines, _ = notice_facts(restarted)
    assert any("never started" in line for line in headlines)
    restarted.delete_run(ben.run_id, owner="ben-token")
    gate.set()


def test_a_promise_is_kept_while_its_studio_lives_and_dropped_once_the_run_exists(settings):
    from studio.service.engine import Studio

    studio = Studio(settings)
    job = studio.submit_training("lora", TrainConfig(steps=2, **TINY_TRAIN), owner="anna-token", client="anna")
    studio.wait_job(job.job_id)
    assert job.status == "completed"
    assert QueuedRuns(studio.store).waiting() == []          # its run exists: nothing left to keep

    queued = QueuedRuns(RunStore(settings.runs_dir))
    queued.remember("lora-20261207-000000-abcd", {"method": "lora", "name": "elsewhere"})
    assert Studio(settings).never_started == []               # this process lives: still its promise
    assert queued.waiting() == ["lora-20261207-000000-abcd"]


def test_cancelling_a_queued_training_drops_its_promise(settings):
    from studio.service.engine import Studio

    studio = Studio(settings)
    gate = threading.Event()
    studio.jobs._run_fn = lambda *args, **kwargs: (gate.wait(), NoRecord("test"))[1]
    first = studio.submit_training("lora", TrainConfig(steps=2, **TINY_TRAIN), owner="anna-token", client="anna")
    wait_until(lambda: first.status == "running")
    second = studio.submit_training("lora", TrainConfig(steps=2, **TINY_TRAIN), owner="ben-token", client="ben")
    assert second.run_id in QueuedRuns(studio.store).waiting()
    assert studio.stop_job(second.job_id, "ben-token") and second.status == "stopped"
    assert second.run_id not in QueuedRuns(studio.store).waiting()
    gate.set()


def test_a_promise_for_a_run_that_exists_or_that_cannot_be_read_is_dropped_without_a_record(settings):
    store = RunStore(settings.runs_dir)
    queued = QueuedRuns(store)
    store.create("lora-20261207-000001-abcd", {"method": "lora", "name": "started"})
    queued.remember("lora-20261207-000001-abcd", {"method": "lora", "name": "started"})
    queued.folder.joinpath("full-20261207-000002-abcd.json").write_text("[" * 100_000)
    queued.folder.joinpath("full-20261207-000003-abcd.json").write_text('{"record": "not a record"}')
    for path in queued.folder.glob("lora-*.json"):
        promise = json.loads(path.read_text())
        path.write_text(json.dumps({**promise, "process": {**promise["process"], "pid": dead_pid()}}))

    assert queued.settle() == []
    assert queued.waiting() == []
    assert store.get("lora-20261207-000001-abcd").name == "started"   # the real run is untouched
    assert {r.run_id for r in store.list()} == {"lora-20261207-000001-abcd"}
