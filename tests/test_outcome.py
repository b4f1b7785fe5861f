"""studio/train/outcome.py: how a training ended, and how the job queue and a worker's channel read it."""
import json

from studio.service.jobs import JobQueue
from studio.service.workers import _outcome_from_message, _outcome_message
from studio.store.records import RunRecord
from studio.train.outcome import NoRecord, PausedTurn
from tests.studios import a_record
from tests.waiting import wait_until


class _Spec:
    method = "lora"


def test_every_outcome_says_its_status_and_error():
    assert (PausedTurn("lora-1", {"step": 3}).status, PausedTurn("lora-1", {"step": 3}).error) == ("paused", None)
    assert (NoRecord("the worker died").status, NoRecord("the worker died").error) == ("failed", "the worker died")
    record = a_record("lora-1", "failed", error="Out of memory")
    assert (record.status, record.error) == ("failed", "Out of memory")


def test_a_job_keeps_the_final_record_and_only_a_record():
    outcomes = iter([a_record("lora-1", "stopped", steps=4), NoRecord("the worker process ended unexpectedly")])
    queue = JobQueue(lambda spec, listener, stop_event, run_id: next(outcomes))
    first, second = queue.submit(_Spec(), owner="a"), queue.submit(_Spec(), owner="a")
    for job in (first, second):
        queue.wait(job.job_id, timeout=60)
    assert isinstance(first.record, RunRecord) and first.record.steps == 4
    assert (first.status, first.error) == ("stopped", None)
    assert second.record is None and (second.status, second.error) == ("failed",
                                                                       "the worker process ended unexpectedly")


def test_a_paused_turn_puts_the_job_back_in_line_with_its_checkpoint():
    outcomes = iter([PausedTurn("lora-1", {"step": 2, "checkpoint": "/c"}), a_record("lora-1", steps=5)])
    seen_resume = []

    def run(spec, listener, stop_event, run_id, **extra):
        return next(outcomes)

    queue = JobQueue(run, slice_steps=1, end_paused=lambda job: a_record(job.run_id, "stopped"))
    original = queue._run_turn

    def run_turn(job, placement):
        seen_resume.append(job.resume)
        return original(job, placement)

    queue._run_turn = run_turn
    job = queue.submit(_Spec(), owner="a")
    wait_until(lambda: job.ended)
    assert job.status == "completed" and job.record.steps == 5 and job.turns == 2
    assert seen_resume == [None, {"step": 2, "checkpoint": "/c"}]


def test_a_worker_process_sends_each_outcome_as_json_and_it_reads_back_the_same():
    record = a_record("lora-1", "completed", steps=3, metrics={"rougeL": 0.3})
    back = _outcome_from_message(json.loads(json.dumps(_outcome_message(record))))
    assert back == record and back.rouge_l == 0.3
    paused = PausedTurn("lora-1", {"step": 2})
    assert _outcome_from_message(json.loads(json.dumps(_outcome_message(paused)))) == paused
    broken = _outcome_from_message({"record": {"status": "completed"}})
    assert isinstance(broken, NoRecord) and "wrong shape" in broken.error
