import json
import math
import os
import tempfile
import threading
from pathlib import Path

import pytest
import torch
from transformers import DataCollatorForSeq2Seq

from studio.config.settings import TrainConfig
from studio.data.dialogsum import load_bundled
from studio.model.base_model import load_base
from studio.model.methods import registry
from studio.train.training import TrainSpec, tokenize_pairs, train_run
from tests.conftest import TINY_TRAIN


def _spec(method, steps=3, **overrides):
    return TrainSpec(method, TrainConfig(steps=steps, **TINY_TRAIN), registry.method_settings(method, overrides))


def test_labels_are_padded_with_minus_100_and_batches_padded_dynamically(studio):
    _model, tokenizer = load_base(studio.base.path)
    dataset = tokenize_pairs(tokenizer, load_bundled().split("train"), TrainConfig(train_size=8), seed=0)
    rows = [dataset[i] for i in range(4)]
    batch = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)(rows)
    longest = max(len(r["input_ids"]) for r in rows)
    assert batch["input_ids"].shape[1] == longest < 512  # padded to the batch, not to 512
    for row, labels in zip(rows, batch["labels"]):
        n = len(row["labels"])
        assert labels[:n].tolist() == row["labels"]
        assert (labels[n:] == -100).all()
    assert (batch["labels"] == -100).any()  # summaries differ in length, so some padding happened


def test_training_subset_is_seeded(studio):
    _, tokenizer = load_base(studio.base.path)
    train = load_bundled().split("train")
    a = tokenize_pairs(tokenizer, train, TrainConfig(train_size=10), seed=1)["labels"]
    b = tokenize_pairs(tokenizer, train, TrainConfig(train_size=10), seed=1)["labels"]
    c = tokenize_pairs(tokenizer, train, TrainConfig(train_size=10), seed=2)["labels"]
    assert a == b and a != c and len(a) == 10


@pytest.mark.parametrize("method", ["full", "lora", "prompt"])
def test_each_method_trains_saves_and_records(studio, method):
    events = []
    record = train_run(_spec(method), studio.store, studio.base, studio.data, listener=events.append)
    assert record.status == "completed", record.error
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3]
    for e in steps:
        assert math.isfinite(e["loss"]) and e["samples_per_second"] > 0 and e["elapsed"] > 0
        assert {"learning_rate", "epoch", "max_steps"} <= e.keys()
    folder = studio.store.path(record.run_id)
    on_disk = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert [e for e in on_disk if e["type"] == "step"] == steps
    saved = {p.name for p in (folder / "model").iterdir()}
    if method == "full":
        assert "model.safetensors" in saved and "tokenizer.json" in saved
    else:
        assert {"adapter_model.safetensors", "adapter_config.json"} <= saved
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in saved)
    for key in ("trainable_params", "total_params", "train_seconds", "samples_per_second", "final_loss",
                "size_bytes", "hyperparameters", "base_model", "steps"):
        assert getattr(record, key) is not None, key
    assert record.steps == 3
    assert record.hyperparameters["learning_rate"] == registry.get(method).learning_rate


def test_stop_takes_effect_within_one_step_and_is_recorded_as_stopped(studio):
    stop = threading.Event()
    steps_seen = []

    def listener(event):
        if event["type"] == "step":
            steps_seen.append(event["step"])
            if event["step"] == 2:
                stop.set()

    record = train_run(_spec("lora", steps=50), studio.store, studio.base, studio.data, listener, stop)
    assert record.status == "stopped"
    assert record.steps <= 3 and max(steps_seen) <= 3
    assert studio.store.is_loadable(record)  # what was learned so far is kept


def test_a_failure_is_recorded_and_the_error_explained(studio, monkeypatch):
    from studio.train import training

    def boom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(training.Trainer, "train", boom)
    record = train_run(_spec("full"), studio.store, studio.base, studio.data)
    assert record.status == "failed" and "smaller batch size" in record.error
    assert not studio.store.is_loadable(record)
    assert studio.store.get(record.run_id).status == "failed"


def test_equal_seeds_give_equal_losses_in_fp32(studio):
    spec = _spec("lora")
    spec.precision = "fp32"  # bf16 autocast reorders sums between runs; fp32 on a CPU repeats exactly
    a = train_run(spec, studio.store, studio.base, studio.data)
    b = train_run(spec, studio.store, studio.base, studio.data)
    assert a.hyperparameters["precision"] == "fp32"
    def losses(r):
        return [e["loss"] for e in studio.store.events(r.run_id) if e["type"] == "step"]
    assert losses(a) == pytest.approx(losses(b), rel=1e-5)


def test_base_dropout_is_set_and_lora_keeps_its_own(studio):
    from studio.train.training import prepare_model

    model, _ = prepare_model(studio.base.path, "lora", registry.method_settings("lora"), False, "cpu", 0, dropout=0.0)
    base_p = {m.p for name, m in model.named_modules() if isinstance(m, torch.nn.Dropout) and "lora" not in name}
    lora_p = {m.p for name, m in model.named_modules() if isinstance(m, torch.nn.Dropout) and "lora" in name}
    assert base_p == {0.0} and lora_p == {0.05}
    # T5's attention drops attention weights at a rate it keeps as a number, not in a Dropout layer.
    attention = [m.dropout for m in model.modules() if isinstance(getattr(m, "dropout", None), float)]
    assert attention and set(attention) == {0.0}
    kept, _ = prepare_model(studio.base.path, "full", registry.method_settings("full"), False, "cpu", 0, dropout=None)
    assert {m.p for m in kept.modules() if isinstance(m, torch.nn.Dropout)} == {0.1}
    assert {m.dropout for m in kept.modules() if isinstance(getattr(m, "dropout", None), float)} == {0.1}


def test_with_dropout_off_a_training_forward_pass_draws_nothing_at_random(studio):
    from studio.train.training import prepare_model

    model, _ = prepare_model(studio.base.path, "full", registry.method_settings("full"), False, "cpu", 0, dropout=0.0)
    model.train()
    batch = {"input_ids": torch.randint(5, 100, (2, 24)), "labels": torch.randint(5, 100, (2, 6))}
    torch.manual_seed(1)
    first = model(**batch).loss
    torch.manual_seed(2)
    assert torch.equal(first, model(**batch).loss)


def test_benchmark_course_recipe_pads_everything_to_512(studio):
    """The baseline the benchmark races is the notebooks' recipe, not a straw man or a copy of ours."""
    from bench.train_speed import _course_dataset

    _, tokenizer = load_base(studio.base.path)
    rows = _course_dataset(tokenizer, [("Summarize: #Person1#: Hi.", "They greet.")])
    assert len(rows[0]["input_ids"]) == len(rows[0]["labels"]) == 512
    assert rows[0]["labels"][-1] == tokenizer.pad_token_id  # pad ids left in the labels, counted by the loss


def test_the_record_is_complete_from_creation_and_final_after_any_failure(studio, monkeypatch):
    from studio.train import training

    spec = _spec("lora")
    spec.owner_hash = "0123456789abcdef01234567"
    first = {}

    def listener(event):
        if not first:
            record = json.loads(next(studio.store.root.glob("*/run.json")).read_text())
            first.update(record)

    def boom(*args, **kwargs):
        raise RuntimeError("the Trainer broke")

    monkeypatch.setattr(training.Trainer, "train", boom)
    record = train_run(spec, studio.store, studio.base, studio.data, listener=listener)
    assert first["status"] == "running" and first["owner_hash"] == spec.owner_hash
    assert first["process"]["pid"] == os.getpid() and first["method"] == "lora" and first["hyperparameters"]
    assert record.status == "failed" and record.error == "RuntimeError: the Trainer broke"
    assert record.owner_hash == spec.owner_hash and studio.store.get(record.run_id).status == "failed"
    assert not any(Path(tempfile.gettempdir()).glob(f"studio-trainer-{os.getpid()}-*"))  # its scratch is gone
