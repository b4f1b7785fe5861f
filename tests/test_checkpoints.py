"""A paused run's checkpoint (studio/store/checkpoints.py): where it lives, Stop, delete and kill -9 while paused.

The stand-in model trains for real and pauses once, as a run does when its turn ends
(tests/test_training_turns.py has the turns themselves).
"""
from __future__ import annotations

import json
import threading

import pytest

from studio.store.checkpoints import (
    CHECKPOINTS,
    checkpoint_root,
    latest_checkpoint,
    orphaned_checkpoints,
    stop_from_checkpoint,
)
from studio.train.training import train_run
from tests.dead_process import dead_pid
from tests.test_training_turns import _pausing_at, _spec


def test_a_paused_run_holds_its_checkpoint_in_the_store_and_says_where_it_stopped(studio):
    pause, events = threading.Event(), []
    outcome = train_run(_spec("lora"), studio.store, studio.base, studio.data, _pausing_at({4}, pause, events),
                        pause_event=pause)
    assert outcome.status == "paused" and outcome.paused["step"] == 4
    checkpoint = latest_checkpoint(checkpoint_root(studio.store, outcome.run_id))
    assert checkpoint is not None and checkpoint.name == "checkpoint-4"
    assert {"optimizer.pt", "scheduler.pt", "trainer_state.json"} <= {p.name for p in checkpoint.iterdir()}
    record = studio.store.get(outcome.run_id)
    assert record.status == "running" and record.paused["step"] == 4   # its process still holds it
    assert any(e.get("status") == "paused" for e in events)
    # Runs list and loadable runs never show the checkpoint folder as a run.
    assert CHECKPOINTS not in {r.run_id for r in studio.runs()}


def test_stop_while_paused_keeps_the_model_of_the_last_step(studio):
    pause = threading.Event()
    outcome = train_run(_spec("lora"), studio.store, studio.base, studio.data, _pausing_at({5}, pause, []),
                        pause_event=pause)
    record = stop_from_checkpoint(studio.store, outcome.run_id, outcome.paused)
    assert record.status == "stopped" and record.steps == 5
    assert not checkpoint_root(studio.store, outcome.run_id).exists()
    model_files = {p.name for p in studio.store.model_dir(outcome.run_id).iterdir()}
    assert "adapter_model.safetensors" in model_files and "optimizer.pt" not in model_files
    [summary] = [s for s in studio.summarize([outcome.run_id], "Anna: Lunch at noon?\nBen: Sure, see you.")]
    assert summary.model == outcome.run_id and summary.text.strip()


def test_a_studio_killed_while_a_run_waited_for_its_turn_leaves_a_true_record(settings):
    from studio.service.engine import Studio

    studio = Studio(settings)
    pause = threading.Event()
    outcome = train_run(_spec("full"), studio.store, studio.base, studio.data, _pausing_at({2}, pause, []),
                        pause_event=pause)
    run_id = outcome.run_id
    # kill -9 of the studio: its process is gone, the record still says "running" and "paused".
    record_path = studio.store.path(run_id) / "run.json"
    record = json.loads(record_path.read_text())
    record["process"] = {**record["process"], "pid": dead_pid()}
    record_path.write_text(json.dumps(record))

    restarted = Studio(settings)
    after = restarted.run(run_id)
    assert after.status == "interrupted"
    assert "paused at step 2 of 12" in after.error
    assert not checkpoint_root(restarted.store, run_id).exists()   # nobody can resume it: swept
    restarted.delete_run(run_id, owner=None)                        # and it can be deleted
    assert run_id not in {r.run_id for r in restarted.runs()}


def test_a_paused_run_cannot_be_deleted_while_its_studio_holds_it(studio):
    pause = threading.Event()
    outcome = train_run(_spec("lora"), studio.store, studio.base, studio.data, _pausing_at({2}, pause, []),
                        pause_event=pause)
    with pytest.raises(ValueError, match="still training; stop it first"):
        studio.delete_run(outcome.run_id, owner=None)
    assert orphaned_checkpoints(studio.store) == []   # its process lives: not an orphan
    stop_from_checkpoint(studio.store, outcome.run_id, outcome.paused)
    studio.delete_run(outcome.run_id, owner=None)
    assert outcome.run_id not in {r.run_id for r in studio.runs()}


def test_a_stray_folder_among_the_checkpoints_does_not_stop_the_studio(settings):
    from studio.service.engine import Studio

    stray = settings.runs_dir / CHECKPOINTS / "notes from Tuesday"   # no run could have this id
    stray.mkdir(parents=True)
    Studio(settings)          # starts: the sweep leaves what is not a run's checkpoint alone
    assert stray.is_dir()
