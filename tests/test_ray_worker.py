"""Trainings as Ray tasks on a local Ray instance this test starts (ray.init(num_cpus=2)).

Ray is an optional extra (`pip install '.[ray]'`); CI installs it, so these run there.
"""
from __future__ import annotations

import dataclasses
import os

import pytest

from studio.config.settings import Settings, TrainConfig
from studio.service.ray_worker import EventChannel

TINY = {"batch_size": 4, "train_size": 24}


def test_the_channel_keeps_each_runs_events_in_order_and_its_stop():
    channel = EventChannel()
    assert channel.push("a", {"step": 1}) is False
    channel.push("b", {"step": 1})
    channel.push("a", {"step": 2})
    assert channel.take("a", 0) == [{"step": 1}, {"step": 2}] and channel.take("a", 1) == [{"step": 2}]
    channel.stop("a")
    assert channel.push("a", {"step": 3}) is True and channel.push("b", {"step": 2}) is False
    channel.forget("a")
    assert channel.take("a", 0) == [] and len(channel.take("b", 0)) == 2


def test_the_address_comes_from_the_environment():
    assert Settings.from_env(env={"STUDIO_RAY_ADDRESS": " ray://head:10001 "}).ray_address == "ray://head:10001"
    assert Settings.from_env(env={}).ray_address == ""


def test_a_ray_address_without_ray_installed_says_how_to_get_it(monkeypatch):
    import studio.service.ray_worker as ray_worker

    monkeypatch.setattr(ray_worker, "ray_installed", lambda: False)
    with pytest.raises(ValueError, match=r"pip install '\.\[ray\]'"):
        ray_worker.RayWorkers("local")


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]'); CI installs it")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_two_peoples_trainings_run_as_ray_tasks_and_the_page_follows_them(local_ray, settings):
    from studio.service.engine import Studio
    from studio.ui.handlers.train import job_view, loss_view

    studio = Studio(dataclasses.replace(settings, training_workers=2, ray_address="local"))
    assert studio.workers.kind == "ray"
    first = studio.submit_training("lora", TrainConfig(steps=6, **TINY), owner="ann", client="ann")
    second = studio.submit_training("prompt", TrainConfig(steps=6, **TINY), owner="ben", client="ben")
    for job in (first, second):
        studio.wait_job(job.job_id)
        assert job.status == "completed", job.error
        record = studio.run(job.run_id)
        assert record.process.pid != os.getpid()   # trained by a Ray worker process, not this one
        # The events streamed back are the run's own, and the page's plot draws them.
        stored = [e["loss"] for e in studio.run_events(job.run_id) if e.get("type") == "step"]
        streamed = [e["loss"] for e in job.events if e.get("type") == "step"]
        assert streamed == stored and len(stored) == 6
        assert job_view(studio, job).steps_seen == 6
        figure = loss_view(studio, job, owner="ann" if job is first else "ben")
        assert list(figure.data[0].y) == pytest.approx(stored)
    # Both runs are in the run store and load.
    summaries = studio.summarize([first.run_id, second.run_id], "Anna: Lunch at one?\nBen: Sure, see you there.")
    assert [s.model for s in summaries] == [first.run_id, second.run_id] and all(s.text for s in summaries)


@pytest.mark.slow
def test_a_stop_reaches_the_ray_task_and_the_model_so_far_is_saved(local_ray, settings):
    from studio.service.engine import Studio
    from tests.waiting import wait_until

    studio = Studio(dataclasses.replace(settings, ray_address="local"))
    job = studio.submit_training("lora", TrainConfig(steps=5000, **TINY), owner="ann", client="ann")
    wait_until(lambda: any(e.get("type") == "step" for e in job.events) or job.ended)
    assert not job.ended   # its loss points arrive while the task still trains (the live plot)
    assert studio.stop_job(job.job_id, "ann")
    studio.wait_job(job.job_id)
    assert job.status == studio.run(job.run_id).status == "stopped"
    assert studio.loadable_run(job.run_id).steps < 5000
