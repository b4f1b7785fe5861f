import threading
import time

import pytest

from studio.service.jobs import JobQueue, QueueFull
from tests.studios import a_record
from tests.waiting import wait_until


class FakeSpec:
    method = "lora"


def make_queue(log, gate=None):
    def run(spec, listener, stop_event, run_id):
        log.append(("start", run_id))
        listener({"type": "step", "step": 1})
        for _ in range(60_000):  # held until the gate opens (a busy machine must not open it early)
            if stop_event.is_set():
                return a_record(run_id, "stopped")
            if gate is None or gate.is_set():
                break
            time.sleep(0.01)
        return a_record(run_id)

    return JobQueue(run)


def test_jobs_run_one_at_a_time_in_submission_order():
    log = []
    gate = threading.Event()
    queue = make_queue(log, gate)
    jobs = [queue.submit(FakeSpec(), owner=f"user{i}") for i in range(3)]
    wait_until(lambda: jobs[0].status == "running")
    assert [j.status for j in jobs] == ["running", "queued", "queued"]
    assert [queue.position(j.job_id) for j in jobs] == [0, 1, 2]
    gate.set()
    for job in jobs:
        queue.wait(job.job_id, timeout=600)
    assert [j.status for j in jobs] == ["completed"] * 3
    assert [run_id for _, run_id in log] == [j.run_id for j in jobs]
    assert jobs[0].events == [{"type": "step", "step": 1}]


def test_only_the_owner_can_stop_a_job():
    gate = threading.Event()
    queue = make_queue([], gate)
    running = queue.submit(FakeSpec(), owner="alice")
    waiting = queue.submit(FakeSpec(), owner="bob")
    wait_until(lambda: running.status == "running")
    assert queue.stop(running.job_id, owner="bob") is False
    assert queue.stop(running.job_id, owner="") is False
    assert queue.stop("no-such-job", owner="alice") is False
    assert running.status == "running"
    assert queue.stop(waiting.job_id, owner="bob") is True  # cancels it before it starts
    assert waiting.status == "stopped" and queue.position(waiting.job_id) == 0
    assert queue.stop(running.job_id, owner="alice") is True
    queue.wait(running.job_id, timeout=600)
    assert running.status == "stopped"


def test_a_crashing_job_fails_and_the_worker_goes_on():
    def run(spec, listener, stop_event, run_id):
        if spec.method == "lora":
            raise RuntimeError("boom")
        return a_record(run_id)

    queue = JobQueue(run)
    bad = queue.submit(FakeSpec(), owner="a")
    good_spec = FakeSpec()
    good_spec.method = "full"
    good = queue.submit(good_spec, owner="b")
    queue.wait(good.job_id, timeout=600)
    assert bad.status == "failed" and "boom" in bad.error
    assert good.status == "completed"


def test_one_owner_cannot_flood_the_queue():
    gate = threading.Event()
    queue = make_queue([], gate)
    queue.submit(FakeSpec(), owner="greedy")
    queue.submit(FakeSpec(), owner="greedy")
    with pytest.raises(QueueFull):
        queue.submit(FakeSpec(), owner="greedy")
    queue.submit(FakeSpec(), owner="someone-else")
    with pytest.raises(ValueError):
        queue.submit(FakeSpec(), owner="")
    gate.set()


def test_one_person_cannot_flood_the_queue_by_opening_sessions():
    # A script without a signed token is one anonymous person per address (studio/service/people.py).
    gate = threading.Event()
    queue = make_queue([], gate)
    for i in range(3):
        queue.submit(FakeSpec(), owner=f"session{i}", client="anon@10.0.0.9", address="10.0.0.9")
    with pytest.raises(QueueFull, match="at most 3 at a time from one person"):
        queue.submit(FakeSpec(), owner="session-fresh", client="anon@10.0.0.9", address="10.0.0.9")
    # Another person in the same room (same address) still gets in: the address is not the unit.
    queue.submit(FakeSpec(), owner="session-other", client="token:bob", address="10.0.0.9")
    gate.set()


def test_an_address_holds_at_most_a_rooms_worth_of_trainings():
    gate = threading.Event()
    queue = make_queue([], gate)
    for i in range(4):
        queue.submit(FakeSpec(), owner=f"s{i}", client=f"token:p{i}", address="10.0.0.9", address_limit=4)
    with pytest.raises(QueueFull, match="4 trainings from your address .* at most 4 at a time from one address"):
        queue.submit(FakeSpec(), owner="s-new", client="token:new", address="10.0.0.9", address_limit=4)
    queue.submit(FakeSpec(), owner="s-away", client="token:away", address="10.0.0.10", address_limit=4)
    gate.set()


def test_people_are_served_in_turn_not_first_come_first_served():
    log = []
    gate = threading.Event()
    queue = make_queue(log, gate)
    flood = [queue.submit(FakeSpec(), owner=f"script{i}", client="flooder") for i in range(3)]
    while flood[0].status != "running":   # the flooder's first job starts; two wait
        flood[0].wait_for_news(0, timeout=1)
    victim = queue.submit(FakeSpec(), owner="person", client="victim")
    assert queue.position(victim.job_id) == 1 and queue.position(flood[1].job_id) == 2
    gate.set()
    for job in (*flood, victim):
        queue.wait(job.job_id, timeout=30)
    order = [run_id for _, run_id in log]
    assert order == [flood[0].run_id, victim.run_id, flood[1].run_id, flood[2].run_id]


def test_wait_wakes_on_the_jobs_end_event_and_still_times_out():
    gate = threading.Event()
    queue = make_queue([], gate)
    job = queue.submit(FakeSpec(), owner="a")
    with pytest.raises(TimeoutError, match="still"):
        queue.wait(job.job_id, timeout=0.05)
    assert not job.done.is_set()
    gate.set()
    assert queue.wait(job.job_id, timeout=30) is job
    assert job.done.is_set() and job.status == "completed"


def test_cancelling_a_queued_job_ends_its_wait():
    gate = threading.Event()
    queue = make_queue([], gate)
    queue.submit(FakeSpec(), owner="a")
    waiting = queue.submit(FakeSpec(), owner="b")
    assert queue.stop(waiting.job_id, owner="b")
    assert queue.wait(waiting.job_id, timeout=30).status == "stopped" and waiting.done.is_set()
    assert waiting.wait_for_news(0, timeout=30)
    gate.set()


def test_old_ended_jobs_are_let_go_and_the_newest_kept(monkeypatch):
    """A Space that runs for days once kept every job (and its loss curve) since it started."""
    import studio.service.jobs as jobs_module

    monkeypatch.setattr(jobs_module, "MAX_ENDED_JOBS_KEPT", 2)
    gate = threading.Event()
    queue = make_queue([], gate)
    busy = queue.submit(FakeSpec(), owner="busy")             # holds the worker, so the rest stay queued
    cancelled = []
    for i in range(4):
        job = queue.submit(FakeSpec(), owner=f"user{i}")
        assert queue.stop(job.job_id, owner=f"user{i}")       # cancelled while queued: ended at once
        cancelled.append(job)
    newest = queue.submit(FakeSpec(), owner="last")
    kept = [job.job_id for job in cancelled if queue.get(job.job_id) is not None]
    assert kept == [job.job_id for job in cancelled[-2:]]     # the two newest ended ones
    assert queue.get(busy.job_id) is busy and queue.get(newest.job_id) is newest   # active jobs always stay
    assert queue.jobs_of("user0") == [] and queue.jobs_of("user3") == [cancelled[3]]
    gate.set()
    queue.wait(newest.job_id, timeout=600)
