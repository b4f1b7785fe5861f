"""The ZeroGPU execution mode, run here through the same code path (the decorator is a no-op off ZeroGPU)."""
import json
import multiprocessing
import sys
import types
from pathlib import Path

import pytest

from studio.config.settings import TrainConfig
from studio.generate.inference import GenerationSettings
from studio.service.zerogpu import (
    CostModel,
    EvaluateRequest,
    GenerateRequest,
    GpuTimeError,
    TrainRequest,
    check_generation_gpu_seconds,
    check_training_gpu_seconds,
    evaluate_on_gpu,
    gpu,
    run_training,
    summarize_on_gpu,
    train_on_gpu,
    training_duration,
)
from studio.store.runs import RunStore
from tests.conftest import TINY_TRAIN


def _request(studio, steps=4, **kwargs):
    return TrainRequest("lora", TrainConfig(steps=steps, **TINY_TRAIN), runs_dir=str(studio.store.root),
                        base=studio.base, data=studio.data, **kwargs)


def _assert_complete_on_disk(runs_dir: Path, run_id: str, steps: int):
    folder = runs_dir / run_id
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "completed" and record["steps"] == steps
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["type"] == "step"] == list(range(1, steps + 1))
    assert (folder / "model" / "adapter_model.safetensors").stat().st_size > 0
    assert RunStore(runs_dir).is_loadable(RunStore(runs_dir).get(run_id))


def test_training_yields_loss_points_and_the_run_is_saved_before_the_last_yield(studio):
    request = _request(studio, steps=4, run_id="lora-zerogpu-1")
    points, statuses = [], []
    for item in train_on_gpu(request):
        if item["type"] == "step":
            points.append(item)
            statuses.append(studio.store.get("lora-zerogpu-1").status)
        else:
            assert item["type"] == "done"
            # By the time the caller sees "done" the run is complete on disk.
            _assert_complete_on_disk(studio.store.root, "lora-zerogpu-1", 4)
            record = item["record"]
    assert [p["step"] for p in points] == [1, 2, 3, 4] and all(p["loss"] > 0 for p in points)
    assert set(statuses) == {"running"}  # the points stream while training, not after it
    assert record.status == "completed" and record.run_id == "lora-zerogpu-1"


def test_closing_the_generator_stops_the_run_and_saves_it_as_stopped(studio):
    stream = train_on_gpu(_request(studio, steps=200, run_id="lora-zerogpu-2", max_seconds=10_000))
    assert next(stream)["step"] == 1
    stream.close()
    record = studio.store.get("lora-zerogpu-2")
    assert record.status == "stopped" and record.steps < 200
    assert studio.store.is_loadable(record)


def test_a_budget_that_cannot_fit_is_refused_before_anything_is_written(studio):
    request = _request(studio, steps=5000, max_seconds=120)
    with pytest.raises(GpuTimeError, match=r"at most 120 s\. Choose at most (\d+) steps at batch size 4"):
        list(train_on_gpu(request))
    assert studio.store.list() == []
    # The advice is right: the largest step count it names fits, one more does not.
    with pytest.raises(GpuTimeError) as refusal:
        check_training_gpu_seconds(request)
    fits = int(str(refusal.value).split("at most ")[2].split()[0])
    assert check_training_gpu_seconds(_request(studio, steps=fits, max_seconds=120)) <= 120
    with pytest.raises(GpuTimeError):
        check_training_gpu_seconds(_request(studio, steps=fits + 1, max_seconds=120))
    with pytest.raises(GpuTimeError, match="steps, not epochs"):
        training_duration(TrainRequest("lora", TrainConfig(steps=None, epochs=1), "runs", studio.base, studio.data))


def test_duration_grows_with_steps_batch_and_model_size(studio):
    small = training_duration(_request(studio, steps=10))
    assert training_duration(_request(studio, steps=20)) > small
    big = _request(studio, steps=10, cost=CostModel.for_base(783_150_080))
    assert training_duration(big) > 5 * small - 1


def test_the_gpu_functions_generate_in_the_studios_precision(trained):
    # On a CPU with native bf16 the studio generates in bf16: the GPU worker's pool must too, or its
    # summaries drift from the studio's (a near-tie token flips between bf16 and fp32).
    import torch

    from studio.service.zerogpu import _pool

    studio, _ = trained
    runs_dir = str(studio.store.root)
    assert _pool(runs_dir, studio.base, studio.settings.precision).dtype == studio.pool.dtype
    assert _pool(runs_dir, studio.base, "fp32").dtype is None          # as saved: fp32
    assert _pool(runs_dir, studio.base, "bf16").dtype == torch.bfloat16
    assert _pool(runs_dir, studio.base, "fp32") is not _pool(runs_dir, studio.base, "bf16")
    # One pool per dtype, not per setting: "auto" shares the pool of what it resolves to.
    resolved = "bf16" if studio.pool.dtype == torch.bfloat16 else "fp32"
    assert _pool(runs_dir, studio.base, "auto") is _pool(runs_dir, studio.base, resolved)


def test_generation_and_evaluation_run_through_the_gpu_functions(trained):
    studio, run_ids = trained
    dialogues = [ex.dialogue for ex in studio.data.split("test")[:3]]
    settings = GenerationSettings(max_new_tokens=16)
    request = GenerateRequest(["original", run_ids["lora"]], dialogues, str(studio.store.root), studio.base,
                              settings)
    out = summarize_on_gpu(request)
    direct = studio.pool.summarize(["original", run_ids["lora"]], dialogues, settings)
    assert out == {ref: result.summaries for ref, result in direct.items()}
    result = evaluate_on_gpu(EvaluateRequest(["original", run_ids["prompt"]], str(studio.store.root), studio.base,
                                             studio.data, limit=3, settings=settings))
    assert result.examples == 3 and set(result.scores) == {"original", run_ids["prompt"]}


def test_generation_budget_scales_with_dialogues_and_refuses_too_many(studio):
    def request(n, tokens=64):
        return GenerateRequest(["original"], ["A: hi"] * n, "runs", studio.base,
                               GenerationSettings(max_new_tokens=tokens), max_seconds=60)

    assert check_generation_gpu_seconds(request(64)) > check_generation_gpu_seconds(request(16))
    assert check_generation_gpu_seconds(request(16, 256)) > check_generation_gpu_seconds(request(16, 64))
    with pytest.raises(GpuTimeError, match="Summarizing 5000 dialogues with 1 models"):
        check_generation_gpu_seconds(request(5000))
    with pytest.raises(GpuTimeError):
        check_generation_gpu_seconds(EvaluateRequest(["original", "a", "b"], "runs", studio.base, studio.data,
                                                     limit=1500, max_seconds=60))


def test_gpu_decorator_is_a_no_op_off_zerogpu_and_asks_spaces_for_the_dynamic_duration_on_it(monkeypatch):
    def work(request):
        return request

    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert gpu(duration=len)(work) is work
    seen = {}
    fake = types.ModuleType("spaces")

    def GPU(duration=None):
        def wrap(function):
            seen["duration"] = duration
            seen["function"] = function
            return lambda *args: ("on a GPU", function(*args))
        return wrap

    fake.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    wrapped = gpu(duration=len)(work)
    assert wrapped("abc") == ("on a GPU", "abc") and seen == {"duration": len, "function": work}


def test_training_in_a_forked_child_leaves_a_complete_run_on_disk(studio):
    """ZeroGPU runs the function in a forked process that ends with its lease: the disk must be complete."""
    request = _request(studio, steps=3, run_id="lora-forked-1")
    child = multiprocessing.get_context("fork").Process(target=run_training, args=(request,))
    child.start()
    child.join()
    assert child.exitcode == 0
    _assert_complete_on_disk(studio.store.root, "lora-forked-1", 3)
