"""Training workers: how many run at once, where, and what the memory estimate lets fit.

The placement rules are checked on made-up devices; the studio tests train the stand-in
model for real, each training of N > 1 in a child process, and read overlap or order
from the jobs' events and states, never from how long anything took.
"""
from __future__ import annotations

import os
import signal
from types import SimpleNamespace

import pytest

from studio.config.settings import Settings, TrainConfig
from studio.model.memory import training_memory
from studio.model.methods import registry
from studio.service.workers import (
    Device,
    WorkerRequest,
    Workers,
    child_environment,
    request_from_json,
    request_to_json,
    spec_memory_gb,
)
from tests.waiting import wait_until

TINY = {"batch_size": 4, "train_size": 24}


def spec(method="lora", batch_size=8, **overrides):
    return SimpleNamespace(method=method, train=TrainConfig(batch_size=batch_size),
                           settings=registry.method_settings(method, overrides or None))


def fixed_need(gb_by_method):
    """Workers whose estimate is the given GB per method (the base's shape is not what is tested here)."""
    def make(count, devices, cores=2):
        workers = Workers(count, devices, cores, base_shape=lambda: None)
        workers.need_gb = lambda s: gb_by_method[s.method]
        return workers
    return make


# ------------------------------------------------------------------ placement

def test_two_workers_on_a_cpu_split_its_cores_and_both_fit():
    workers = fixed_need({"lora": 1.0})(2, [Device("cpu", 4.0)], cores=2)
    first, second = workers.place(spec()), workers.place(spec())
    assert first.kind == second.kind == "process" and first.threads == second.threads == 1
    assert workers.place(spec()) is None            # no third worker
    workers.release(first)
    assert workers.place(spec()) is not None


def test_a_training_that_does_not_fit_next_to_the_running_one_waits():
    workers = fixed_need({"full": 3.0, "lora": 1.5})(2, [Device("cpu", 4.0)])
    running = workers.place(spec("full"))
    assert workers.place(spec("lora")) is None      # 3.0 + 1.5 > 4.0
    workers.release(running)
    assert workers.place(spec("lora")) is not None


def test_a_training_alone_always_runs_even_above_the_budget():
    workers = fixed_need({"full": 9.0})(2, [Device("cpu", 4.0)])
    assert workers.place(spec("full")).need_gb == 9.0   # what one worker would do anyway
    assert workers.place(spec("full")) is None


def test_one_training_per_gpu_then_where_memory_allows():
    gpus = [Device("cuda:0", 10.0, gpu=0), Device("cuda:1", 10.0, gpu=1)]
    workers = fixed_need({"lora": 4.0})(4, gpus)
    placed = [workers.place(spec()) for _ in range(4)]
    assert [p.device.gpu for p in placed[:2]] == [0, 1]
    assert sorted(p.device.gpu for p in placed) == [0, 0, 1, 1]   # 8 of 10 GB each
    assert all(p.threads == 0 for p in placed)                    # a GPU worker keeps torch's threads


def test_the_estimate_follows_the_runs_method_settings():
    small = "google/flan-t5-small"   # training_memory takes a FLAN-T5 name as well as a shape
    assert spec_memory_gb(small, spec("lora", lora_r=64)) == training_memory(
        small, "lora", 8, lora_r=64, lora_target_modules=("q", "v"))["total_gb"]
    assert spec_memory_gb(small, spec("full")) > spec_memory_gb(small, spec("lora"))


def test_a_child_gets_its_threads_and_one_gpu_before_torch_loads():
    env = child_environment(3, 1, base_env={"PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["PATH"] == "/bin"
    assert "CUDA_VISIBLE_DEVICES" not in child_environment(1, None, base_env={})


def test_a_request_reaches_the_child_as_json_and_comes_back_equal():
    """The child's request is JSON naming known dataclasses: equal after the trip, and nothing else is built."""
    from studio.data.dialogsum import DialogData, Example
    from studio.model.base_model import BaseModelChoice
    from studio.train.training import TrainSpec

    data = DialogData({"train": [Example("t1", "Anna: Hi.\nBen: Hello.", ["Anna greets Ben."], "greeting")]},
                      "bundled", "two lines", is_sample=True)
    settings = registry.method_settings("lora", {"lora_r": 4})
    request = WorkerRequest(TrainSpec("lora", TrainConfig(steps=3), settings, name="x",
                                      experiment={"id": "e1", "methods": ["full", "lora"]}),
                            "/tmp/runs", BaseModelChoice("/tmp/base", "tiny", is_standin=True), data, "lora-1",
                            threads=1, extra={"pause": None})
    text = request_to_json(request)
    assert "\n" not in text   # one line on the child's stdin
    assert request_from_json(text) == request
    with pytest.raises(ValueError, match="unknown type 'Popen'"):
        request_from_json(text.replace('"__type__": "BaseModelChoice"', '"__type__": "Popen"'))
    with pytest.raises(TypeError, match="cannot carry"):
        request_to_json(WorkerRequest(object(), "/tmp", None, None, "x"))


def test_settings_read_the_workers_from_the_environment():
    settings = Settings.from_env(env={"STUDIO_TRAINING_WORKERS": "2", "STUDIO_TRAINING_MEMORY_GB": "1.5"})
    assert (settings.training_workers, settings.training_memory_gb) == (2, 1.5)
    assert Settings.from_env(env={}).training_workers == 1
    with pytest.raises(ValueError, match="STUDIO_TRAINING_WORKERS"):
        Settings.from_env(env={"STUDIO_TRAINING_WORKERS": "0"})


# ------------------------------------------------------------------ with the stand-in model

def make_studio(settings, **changes):
    import dataclasses

    from studio.service.engine import Studio

    return Studio(dataclasses.replace(settings, **changes))


def has_steps(job) -> bool:
    return any(e.get("type") == "step" for e in job.events)


def ended(job) -> bool:
    return job.ended or any(e.get("type") == "status" and e.get("status") in ("completed", "stopped", "failed")
                                    for e in job.events)


def test_two_workers_train_two_peoples_runs_at_the_same_time(settings):
    studio = make_studio(settings, training_workers=2)
    assert studio.workers.kind == "process"
    # Long enough that neither can finish before the other has begun: they are stopped once both train.
    first = studio.submit_training("lora", TrainConfig(steps=5000, **TINY), owner="ann", client="ann")
    second = studio.submit_training("prompt", TrainConfig(steps=5000, **TINY), owner="ben", client="ben")
    wait_until(lambda: (has_steps(first) and has_steps(second)) or ended(first) or ended(second))
    overlapping = has_steps(first) and has_steps(second) and not ended(first) and not ended(second)
    assert studio.jobs.stop(first.job_id, "ann") and studio.jobs.stop(second.job_id, "ben")
    for job in (first, second):
        studio.wait_job(job.job_id)
    assert overlapping, "both trainings had logged steps while neither had ended"
    assert {first.status, second.status} == {"stopped"}
    # Each child wrote its run into the store; both load and summarize.
    summaries = studio.summarize([first.run_id, second.run_id], "Anna: Shall we meet at noon?\nBen: Yes, at the cafe.")
    assert [s.model for s in summaries] == [first.run_id, second.run_id] and all(s.text for s in summaries)
    losses = [e["loss"] for e in studio.run_events(first.run_id) if e.get("type") == "step"]
    assert losses == [e["loss"] for e in first.events if e.get("type") == "step"]   # the plot's points are the run's


def test_one_worker_keeps_them_one_after_the_other(settings):
    studio = make_studio(settings)
    assert studio.workers.kind == "thread"
    first = studio.submit_training("lora", TrainConfig(steps=3, **TINY), owner="ann", client="ann")
    second = studio.submit_training("lora", TrainConfig(steps=3, **TINY), owner="ben", client="ben")
    wait_until(lambda: has_steps(first) or first.ended)
    assert second.status == "queued" and second.queue_position == 1
    for job in (first, second):
        studio.wait_job(job.job_id)
    assert first.status == second.status == "completed"
    assert second.started_at >= first.finished_at


def test_a_memory_estimate_that_does_not_fit_keeps_the_second_waiting(settings):
    probe = make_studio(settings)
    need = probe.workers.need_gb(probe.make_spec("lora", TrainConfig(steps=3, **TINY)))
    assert need > 0
    # Room for one such training, not two: the second waits although a worker is free.
    studio = make_studio(settings, training_workers=2, training_memory_gb=need * 1.5)
    first = studio.submit_training("lora", TrainConfig(steps=3, **TINY), owner="ann", client="ann")
    second = studio.submit_training("lora", TrainConfig(steps=3, **TINY), owner="ben", client="ben")
    wait_until(lambda: has_steps(first) or first.ended)
    assert second.status == "queued"
    for job in (first, second):
        studio.wait_job(job.job_id)
    assert first.status == second.status == "completed"
    assert second.started_at >= first.finished_at


def test_a_killed_worker_process_leaves_a_true_record(settings):
    import psutil

    studio = make_studio(settings, training_workers=2)
    job = studio.submit_training("lora", TrainConfig(steps=5000, **TINY), owner="ann", client="ann")
    wait_until(lambda: has_steps(job) or job.ended)
    children = [c for c in psutil.Process().children() if "studio.service.workers" in " ".join(c.cmdline())]
    assert len(children) == 1
    os.kill(children[0].pid, signal.SIGKILL)
    studio.wait_job(job.job_id)
    record = studio.run(job.run_id)
    assert job.status == record.status == "interrupted"
    assert "ended unexpectedly" in record.error and "-9" in record.error
    # The worker slot is free again: the next training runs.
    after = studio.submit_training("lora", TrainConfig(steps=2, **TINY), owner="ben", client="ben")
    assert studio.wait_job(after.job_id).status == "completed"
