"""studio/ui/handlers/queue.py: the queue board everyone sees, anonymous but for "yours"."""
from studio.ui.handlers import queue as hq
from studio.ui.handlers import train as ht
from tests.waiting import wait_until

TINY = {"steps": 3, "batch_size": 4, "train_size": 16}


def test_a_presenters_page_is_not_told_a_training_it_starts_begins_at_once(studio, monkeypatch):
    assert hq.queue_view(studio, "carol").endswith("free; a training you start begins at once.")
    monkeypatch.setattr(studio.settings, "presenter", True)
    assert hq.queue_view(studio, "carol") == "**Training queue:** the shared worker is free."


def test_everyone_sees_what_trains_how_many_wait_and_their_own_place(studio):
    assert "free" in hq.queue_view(studio, "carol")
    long_run = ht.TrainForm(method="prompt", steps=4000, batch_size=2, train_size=16)
    first = ht.start_training(studio, "alice", long_run)
    second = ht.start_training(studio, "bob", ht.TrainForm(method="lora", **TINY))
    try:
        wait_until(lambda: (first.latest("step") or {}).get("step", 0) >= 1)
        carol = hq.queue_view(studio, "carol")
        assert "Training now:** Prompt tuning," in carol and "of 4000" in carol
        assert "yours" not in carol and "alice" not in carol          # whose it is stays anonymous
        assert "1 waiting" in carol and "your place" not in carol
        assert "Prompt tuning (yours)" in hq.queue_view(studio, "alice")
        assert "your place: #1" in hq.queue_view(studio, "bob")
    finally:
        for job, owner in ((second, "bob"), (first, "alice")):
            studio.stop_job(job.job_id, owner)
        studio.wait_job(first.job_id, timeout=300)
