"""Turns within long runs (so no run holds the room): a run paused at a checkpoint resumes exactly where it stopped.

The stand-in model trains for real: a run paused three times, each turn resumed from the
Trainer's own checkpoint, draws the same loss curve as the run trained in one go; the queue
lets a quick run in between the slices of a long one; Stop while paused keeps the model of
the last step; a studio killed while a run waited for its turn leaves a true record.
Nothing here reads a clock: order and values only.
"""
from __future__ import annotations

import json
import threading

import pytest

from studio.config.settings import Settings, TrainConfig
from studio.model.methods import registry
from studio.service.fairshare import QueueFull
from studio.service.jobs import JobQueue
from studio.store.checkpoints import CHECKPOINTS, checkpoint_root
from studio.train.outcome import PausedTurn
from studio.train.training import TrainSpec, train_run
from tests.conftest import TINY_TRAIN
from tests.studios import a_record
from tests.waiting import wait_until

STEPS = 12


def _spec(method: str, steps: int = STEPS) -> TrainSpec:
    return TrainSpec(method, TrainConfig(steps=steps, seed=7, **TINY_TRAIN), registry.method_settings(method))


def _pausing_at(steps: set[int], pause: threading.Event, events: list):
    """A listener that keeps the events and asks the run to pause once it has logged one of `steps`."""
    def listen(event):
        events.append(event)
        if event.get("type") == "step" and event["step"] in steps:
            pause.set()
    return listen


def _losses(events) -> list[tuple[int, float]]:
    return [(e["step"], e["loss"]) for e in events if e.get("type") == "step"]


def _train_in_turns(studio, spec, pause_at: set[int]) -> tuple[dict, list, int]:
    """Train `spec` to its end, pausing after each step in `pause_at`; (final record, events, turns)."""
    events, turns, resume, run_id = [], 0, None, None
    while True:
        pause = threading.Event()
        outcome = train_run(spec, studio.store, studio.base, studio.data, _pausing_at(pause_at, pause, events),
                            run_id=run_id, pause_event=pause, resume=resume)
        turns += 1
        if outcome.status != "paused":
            return outcome, events, turns
        run_id, resume = outcome.run_id, outcome.paused
        pause_at = {s for s in pause_at if s > resume["step"]}


@pytest.mark.parametrize("method", ["full", "lora", "prompt"])
def test_a_run_sliced_three_times_draws_the_unsliced_curve_step_for_step(studio, method):
    whole_events = []
    whole = train_run(_spec(method), studio.store, studio.base, studio.data, whole_events.append)
    sliced, sliced_events, turns = _train_in_turns(studio, _spec(method), {3, 6, 9})

    assert whole.status == sliced.status == "completed", sliced.error
    assert turns == 4
    assert [s for s, _ in _losses(sliced_events)] == list(range(1, STEPS + 1))
    # Same seed, same batches, optimizer and scheduler restored: the same loss at every step.
    assert [s for s, _ in _losses(whole_events)] == list(range(1, STEPS + 1))
    sliced_losses, whole_losses = [x for _, x in _losses(sliced_events)], [x for _, x in _losses(whole_events)]
    assert sliced_losses == pytest.approx(whole_losses, rel=1e-5, abs=1e-6)
    assert sliced.steps == STEPS and sliced.final_loss == pytest.approx(whole.final_loss, rel=1e-5)
    assert sliced.turns == 4 and whole.turns == 1
    # The curve on disk is the one the page drew: each step once, and the checkpoint is gone.
    on_disk = [json.loads(line) for line in (studio.store.path(sliced.run_id) / "events.jsonl").read_text()
               .splitlines()]
    assert [e["step"] for e in on_disk if e["type"] == "step"] == list(range(1, STEPS + 1))
    assert not checkpoint_root(studio.store, sliced.run_id).exists()
    assert not sliced.paused





# ------------------------------------------------------------------ the queue's turns

def _settings_with_turns(settings: Settings, steps: int) -> Settings:
    settings.slice_steps = steps
    return settings


def test_a_quick_run_queued_behind_a_long_one_trains_between_its_slices(settings):
    from studio.service.engine import Studio

    studio = Studio(_settings_with_turns(settings, 2))
    long_job = studio.submit_training("lora", TrainConfig(steps=8, seed=3, **TINY_TRAIN), owner="anna-token",
                                      client="anna")
    wait_until(lambda: long_job.latest("step") is not None)
    quick_job = studio.submit_training("prompt", TrainConfig(steps=2, **TINY_TRAIN), owner="ben-token",
                                       client="ben")
    studio.wait_job(quick_job.job_id)
    studio.wait_job(long_job.job_id)

    assert quick_job.status == "completed" and long_job.status == "completed", (quick_job.error, long_job.error)
    long_steps = [e["step"] for e in long_job.events if e.get("type") == "step"]
    assert long_steps == list(range(1, 9))           # every step once, in order, across its turns
    assert long_job.turns >= 2 and long_job.record.steps == 8
    # The quick run finished before the long one did: it was not held for the long run's whole length.
    assert quick_job.finished_at <= long_job.finished_at
    paused_at = [e["step"] for e in long_job.events if e.get("status") == "paused"]
    assert paused_at and paused_at[0] < 8
    assert not (settings.runs_dir / CHECKPOINTS / long_job.run_id).exists()


def test_alone_in_the_queue_a_run_is_never_paused(settings):
    from studio.service.engine import Studio

    studio = Studio(_settings_with_turns(settings, 1))
    job = studio.submit_training("lora", TrainConfig(steps=4, **TINY_TRAIN), owner="anna-token", client="anna")
    studio.wait_job(job.job_id)
    assert job.status == "completed" and job.turns == 1
    assert not [e for e in job.events if e.get("status") == "paused"]


class _FakeTraining:
    """run_fn for the queue alone: takes one step each time the test opens its run's gate; pauses when asked."""

    def __init__(self):
        self.ended: list[str] = []
        self.gates: dict[str, threading.Event] = {}

    def step(self, job) -> None:
        """Let `job` take one step, and wait until it has logged it."""
        before = len([e for e in job.events if e["type"] == "step"])
        self.gates.setdefault(job.run_id, threading.Event()).set()
        wait_until(lambda: len([e for e in job.events if e["type"] == "step"]) > before)

    def open(self, job) -> None:
        """Let `job` run to its end (or its next pause) without waiting for the test."""
        gate = self.gates.setdefault(job.run_id, threading.Event())
        gate.clear = lambda: None
        gate.set()

    def __call__(self, spec, listener, stop_event, run_id, pause_event=None, resume=None):
        step = (resume or {}).get("step", 0)
        while step < spec.train.steps:
            gate = self.gates.setdefault(run_id, threading.Event())
            gate.wait()
            gate.clear()
            step += 1
            listener({"type": "step", "step": step, "max_steps": spec.train.steps, "loss": 1.0})
            if stop_event.is_set():
                return a_record(run_id, "stopped", steps=step)
            if pause_event is not None and pause_event.is_set() and step < spec.train.steps:
                listener({"type": "status", "status": "paused", "step": step})
                return PausedTurn(run_id, {"step": step})
        self.ended.append(run_id)
        return a_record(run_id, steps=step)


def _job_spec(steps):
    return TrainSpec("lora", TrainConfig(steps=steps), registry.method_settings("lora"))


def test_stop_while_paused_ends_the_job_from_its_checkpoint_at_once():
    fake, ended_paused = _FakeTraining(), []

    def end_paused(job):
        ended_paused.append((job.run_id, job.resume["step"]))
        return a_record(job.run_id, "stopped", steps=job.resume["step"])

    queue = JobQueue(fake, slice_steps=1, end_paused=end_paused)
    anna = queue.submit(_job_spec(5), owner="anna", client="anna")
    fake.step(anna)                                               # nobody waits: her turn goes on
    ben = queue.submit(_job_spec(3), owner="ben", client="ben")   # Ben's gate stays shut: he holds the worker
    fake.step(anna)                                               # her slice is over and Ben waits: she pauses
    wait_until(lambda: anna.status == "paused" and ben.status == "running")
    assert queue.position(anna.job_id) == 1 and anna.resume["step"] == 2

    assert not queue.stop(anna.job_id, owner="ben")               # only its owner may stop it
    assert queue.stop(anna.job_id, owner="anna")
    assert anna.ended and anna.status == "stopped" and anna.record.steps == anna.resume["step"]
    assert ended_paused == [(anna.run_id, anna.resume["step"])]
    assert queue.position(anna.job_id) == 0 and queue.waiting_count() == 0
    fake.open(ben)
    queue.wait(ben.job_id, timeout=None)
    assert ben.status == "completed" and fake.ended == [ben.run_id]   # Anna's run never trained again


def test_paused_jobs_count_against_a_persons_limit():
    fake = _FakeTraining()
    queue = JobQueue(fake, slice_steps=1, end_paused=lambda job: a_record(job.run_id, "stopped"))
    anna = queue.submit(_job_spec(4), owner="anna", client="anna")
    fake.step(anna)
    ben = queue.submit(_job_spec(2), owner="ben", client="ben")
    fake.step(anna)
    wait_until(lambda: anna.status == "paused")
    with pytest.raises(QueueFull, match="already have a training"):
        queue.submit(_job_spec(2), owner="anna", client="anna", limit=1)
    fake.open(ben)
    fake.open(anna)
    queue.wait(anna.job_id, timeout=None)
    assert anna.status == "completed" and [e["step"] for e in anna.events if e["type"] == "step"] == [1, 2, 3, 4]


def test_the_slice_counts_training_time_not_the_models_loading(monkeypatch):
    """With loading counted, a run whose model loads longer than a slice paused after every single step
    (seen in two browsers: 20 steps of prompt tuning took 20 turns)."""
    import studio.service.jobs as jobs

    clock = [1000.0]
    monkeypatch.setattr(jobs, "_clock", lambda: clock[0])
    seconds_per_step = {1: 100.0, 2: 3.0, 3: 8.0}   # step 1's wait stands for loading the model and tokenizing

    class Timed(_FakeTraining):
        def __call__(self, spec, listener, stop_event, run_id, pause_event=None, resume=None):
            def timed_listener(event):
                if event.get("type") == "step":
                    clock[0] += seconds_per_step.get(event["step"], 1.0)
                listener(event)
            return super().__call__(spec, timed_listener, stop_event, run_id, pause_event, resume)

    fake = Timed()
    queue = JobQueue(fake, slice_seconds=10, end_paused=lambda job: a_record(job.run_id, "stopped"))
    anna = queue.submit(_job_spec(6), owner="anna", client="anna")
    fake.step(anna)                                               # 100 s to its first step: loading
    ben = queue.submit(_job_spec(1), owner="ben", client="ben")   # someone waits from now on
    fake.step(anna)                                               # 3 s of training: her turn goes on
    assert anna.status == "running"
    fake.step(anna)                                               # 11 s of training: the slice is over
    wait_until(lambda: anna.status == "paused")
    assert anna.resume["step"] == 3
    fake.open(ben)
    fake.open(anna)
    queue.wait(anna.job_id, timeout=None)
    assert anna.status == "completed"


def test_a_persons_own_waiting_jobs_do_not_pause_their_run():
    """An experiment queues its three methods at once for one person: they must not take turns among
    themselves (a checkpoint and a reload every slice, for nobody's benefit)."""
    fake = _FakeTraining()
    queue = JobQueue(fake, slice_steps=1, end_paused=lambda job: a_record(job.run_id, "stopped"))
    first = queue.submit(_job_spec(3), owner="anna", client="anna")
    fake.step(first)
    second = queue.submit(_job_spec(1), owner="anna-2", client="anna")   # the same person, another session
    fake.step(first)
    fake.step(first)
    queue.wait(first.job_id, timeout=None)
    assert first.status == "completed" and first.turns == 1
    fake.open(second)
    queue.wait(second.job_id, timeout=None)


def test_only_runs_reported_nowhere_or_to_tensorboard_take_turns(studio, monkeypatch):
    """MLflow, W&B and Trackio end their run when training ends: a sliced run would be several runs there."""
    import studio.train.training as training

    seen = {}
    monkeypatch.setattr(training, "train_run", lambda *args, **kwargs: seen.setdefault(
        args[0].train.report_to, kwargs["pause_event"]) or a_record())
    pause = threading.Event()
    for tracker in ("none", "tensorboard", "mlflow", "wandb", "trackio"):
        spec = TrainSpec("lora", TrainConfig(steps=2, report_to=tracker), registry.method_settings("lora"))
        studio._run_job(spec, lambda event: None, threading.Event(), f"lora-20261207-00000{len(seen)}-abcd",
                        pause_event=pause)
    assert seen == {"none": pause, "tensorboard": pause, "mlflow": None, "wandb": None, "trackio": None}
