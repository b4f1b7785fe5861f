"""studio/train/training.py, validation loss during training: events every few steps, the record, and early stopping."""
import math

from studio.config.settings import TrainConfig
from studio.data.dialogsum import DialogData, Example
from studio.model.methods import registry
from studio.train.training import EventCallback, TrainSpec, split_validation, train_run
from tests.conftest import TINY_TRAIN


def _spec(method, steps, **train):
    return TrainSpec(method, TrainConfig(steps=steps, **{**TINY_TRAIN, **train}), registry.method_settings(method))


def test_validation_loss_is_measured_every_few_steps_and_kept(studio):
    events = []
    record = train_run(_spec("lora", 6, eval_every=2, eval_size=5), studio.store, studio.base, studio.data,
                       listener=events.append)
    assert record.status == "completed", record.error
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [2, 4, 6]
    assert all(math.isfinite(e["eval_loss"]) and e["eval_loss"] > 0 for e in evals)
    on_disk = [e for e in studio.store.events(record.run_id) if e["type"] == "eval"]
    assert on_disk == evals
    assert record.validation_pairs == 5 and record.final_eval_loss == evals[-1]["eval_loss"]
    assert record.best_eval_loss == min(e["eval_loss"] for e in evals)
    assert "stopped_early" not in record.as_dict() and record.steps == 6


def test_validation_off_means_no_eval_events(studio):
    record = train_run(_spec("prompt", 3, eval_every=0), studio.store, studio.base, studio.data)
    assert record.status == "completed", record.error
    assert not [e for e in studio.store.events(record.run_id) if e["type"] == "eval"]
    assert "final_eval_loss" not in record.as_dict()


def test_early_stop_when_validation_loss_rises(studio, monkeypatch):
    original = EventCallback.on_evaluate

    def rising(self, args, state, control, metrics=None, **kwargs):  # a loss that only gets worse
        return original(self, args, state, control, metrics={**metrics, "eval_loss": float(state.global_step)},
                        **kwargs)

    monkeypatch.setattr(EventCallback, "on_evaluate", rising)
    record = train_run(_spec("lora", 20, eval_every=2, eval_size=4, early_stop_patience=1), studio.store,
                       studio.base, studio.data)
    assert record.status == "completed" and record.stopped_early is True
    assert record.steps == 4  # best at step 2, worse at step 4: one check without a gain is the patience
    assert "did not improve" in record.stop_reason and "step 2" in record.stop_reason
    assert studio.store.is_loadable(record)
    assert [e["step"] for e in studio.store.events(record.run_id) if e["type"] == "eval"] == [2, 4]


def test_validation_comes_from_its_split_or_is_held_out_of_train():
    rows = [Example(str(i), f"A: hi {i}", [f"s{i}"]) for i in range(20)]
    cfg = TrainConfig(eval_size=3)
    with_split = DialogData({"train": rows[:10], "validation": rows[10:]}, "t")
    assert split_validation(with_split, cfg) == (rows[:10], rows[10:13])
    without = DialogData({"train": rows}, "t")
    train, held = split_validation(without, cfg)
    assert held == rows[-3:] and train == rows[:-3]  # never trained on what it is measured on
    assert split_validation(without, TrainConfig(eval_every=0)) == (rows, [])
