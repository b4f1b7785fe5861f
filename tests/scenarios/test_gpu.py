"""CUDA checks: training, greedy tokens equal to the CPU path's, memory freed. Skipped where CUDA is absent.

Run on a CUDA machine with `pytest -m gpu tests/scenarios/test_gpu.py`.
"""
import gc

import pytest
import torch

from studio.config.settings import TrainConfig
from studio.generate.inference import GenerationSettings, ModelPool
from studio.model.methods import registry
from studio.train.training import TrainSpec, train_run
from tests.conftest import TINY_TRAIN

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")]


@pytest.mark.parametrize("method", ["full", "lora", "prompt"])
def test_each_method_trains_a_few_steps_on_cuda_and_frees_its_memory(studio, method):
    torch.cuda.synchronize()
    gc.collect()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    events = []
    spec = TrainSpec(method, TrainConfig(steps=4, **TINY_TRAIN), registry.method_settings(method))
    record = train_run(spec, studio.store, studio.base, studio.data, listener=events.append)
    assert record.status == "completed", record.error
    assert record.device == "cuda"
    losses = [e["loss"] for e in events if e["type"] == "step"]
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    assert studio.store.is_loadable(studio.store.get(record.run_id))
    gc.collect()
    torch.cuda.empty_cache()
    # The model, optimizer state and activations are gone: allow a small allocator remainder.
    assert torch.cuda.memory_allocated() - before < 8 * 2**20


def test_greedy_tokens_on_cuda_equal_the_cpu_paths(trained):
    studio, run_ids = trained
    dialogues = [ex.dialogue for ex in studio.data.split("test")[:6]]
    settings = GenerationSettings(max_new_tokens=32)
    refs = ["original", *run_ids.values()]
    cpu = ModelPool(studio.base, studio.store, device="cpu").summarize(refs, dialogues, settings)
    cuda_pool = ModelPool(studio.base, studio.store, device="cuda")
    cuda = cuda_pool.summarize(refs, dialogues, settings)
    for ref in refs:
        assert cuda[ref].summaries == cpu[ref].summaries, ref
    del cuda_pool
    gc.collect()
    torch.cuda.empty_cache()


def test_generation_frees_memory_once_the_pool_is_dropped(trained):
    studio, run_ids = trained
    gc.collect()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    pool = ModelPool(studio.base, studio.store, device="cuda")
    pool.summarize(["original", run_ids["lora"]], ["#Person1#: Hi.\n#Person2#: Hello."],
                   GenerationSettings(max_new_tokens=8))
    assert torch.cuda.memory_allocated() > before
    del pool
    gc.collect()
    torch.cuda.empty_cache()
    assert torch.cuda.memory_allocated() - before < 8 * 2**20
