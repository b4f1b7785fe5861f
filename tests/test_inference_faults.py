"""Broken model files in the pool (issue 23, points 8, 17, 18): a failed load leaves nothing behind.

A run whose adapter or model file is damaged must fail, naming the run and the file, every
time it is asked for; it must never answer with the original model's text under its own
name, nor leave layers in the shared base that a later adapter picks up.
"""
import os
import pickle
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from studio.config.settings import ORIGINAL
from studio.generate.inference import GenerationSettings, ModelLoadError, ModelPool, holds_adapter
from tests.studios import offline_studio

GEN = GenerationSettings(max_new_tokens=12)


@pytest.fixture(scope="module")
def faulty(trained, tmp_path_factory, cache_dir):
    """A studio of its own holding copies of the trained runs, so damaged copies never reach other tests."""
    source, run_ids = trained
    root = tmp_path_factory.mktemp("faulty") / "runs"
    for run_id in run_ids.values():
        shutil.copytree(source.store.path(run_id), root / run_id)
    studio = offline_studio(root, cache_dir)
    return studio, dict(run_ids)


@pytest.fixture(scope="module")
def dialogues(faulty):
    studio, _ = faulty
    return [ex.dialogue for ex in studio.data.split("test")[:2]]


@pytest.fixture(scope="module")
def alone(faulty, dialogues):
    """What each good model writes, each from a pool of its own."""
    studio, runs = faulty
    return {ref: ModelPool(studio.base, studio.store).summarize([ref], dialogues, GEN)[ref].summaries
            for ref in (ORIGINAL, *runs.values())}


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _random_bytes(path):
    path.write_bytes(os.urandom(4096))


def _wrong_shapes(path):
    """A whole, readable file whose weights fit no layer: the load fails only once PEFT applies it."""
    save_file({name: torch.zeros(3, 3) for name in load_file(str(path))}, str(path))


def _no_adapter_weights(path):
    """A whole, readable file without the adapter's weights: loading it would leave the layers as initialized."""
    save_file({"unrelated.weight": torch.zeros(2)}, str(path))


def _garbled_config(path):
    (path.parent / "adapter_config.json").write_text('{"peft_type": "LORA", ')


DAMAGE = {"truncated": _truncate, "random bytes": _random_bytes, "wrong shapes": _wrong_shapes,
          "no adapter weights": _no_adapter_weights, "garbled adapter_config.json": _garbled_config}
FILE_NAMED = {"garbled adapter_config.json": "adapter_config.json"}


def damaged_copy(studio, run_id: str, damage: str, weights: str = "adapter_model.safetensors") -> str:
    """A copy of the run under a new id, with one of its files damaged."""
    copy_id = f"{run_id}-{damage.replace(' ', '-').replace('.', '-').replace('_', '-')}"[:80]
    shutil.rmtree(studio.store.path(copy_id), ignore_errors=True)
    shutil.copytree(studio.store.path(run_id), studio.store.path(copy_id))
    DAMAGE[damage](studio.store.model_dir(copy_id) / weights)
    return copy_id


def assert_no_trace(pool, run_id):
    lora, prompt = pool._wrappers.get("lora"), pool._wrappers.get("prompt")
    assert not holds_adapter(lora, run_id) and not holds_adapter(prompt, run_id)
    assert run_id not in pool.loaded()["lora"] + pool.loaded()["prompt"] + pool.loaded()["full"]
    if lora is None and pool._base is not None:  # no LoRA layers may stay in the base
        from peft.tuners.tuners_utils import BaseTunerLayer

        assert not any(isinstance(m, BaseTunerLayer) for m in pool._base.modules())


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("method", ["lora", "prompt"])
@pytest.mark.parametrize("after_a_good_one", [False, True], ids=["first-of-its-method", "after-a-good-one"])
def test_a_broken_adapter_fails_every_time_and_leaves_nothing(faulty, dialogues, alone, damage, method,
                                                              after_a_good_one):
    """The second request used to answer with the original's text under the run's name."""
    studio, runs = faulty
    if method == "prompt" and damage == "garbled adapter_config.json":
        pytest.skip("the same file and check as LoRA's")
    broken = damaged_copy(studio, runs[method], damage)
    pool = ModelPool(studio.base, studio.store)
    if after_a_good_one:
        pool.summarize([runs[method]], dialogues, GEN)
    for _ in range(2):
        with pytest.raises(ModelLoadError) as caught:
            pool.summarize([broken], dialogues, GEN)
        assert caught.value.run_id == broken and broken in str(caught.value)
        assert FILE_NAMED.get(damage, "adapter_model.safetensors") in str(caught.value) or \
            "does not load" in str(caught.value)
        assert_no_trace(pool, broken)
    out = pool.summarize([ORIGINAL, runs["lora"], runs["prompt"]], dialogues, GEN)
    for ref in (ORIGINAL, runs["lora"], runs["prompt"]):
        assert out[ref].summaries == alone[ref], ref
    assert pool.loaded()[method] == [runs[method]]


def test_a_broken_first_lora_is_not_registered_when_a_good_one_loads(faulty, dialogues, alone):
    """A failed first LoRA used to stay in the base and ride along with the next good one."""
    studio, runs = faulty
    broken = damaged_copy(studio, runs["lora"], "wrong shapes")
    pool = ModelPool(studio.base, studio.store)
    with pytest.raises(ModelLoadError):
        pool.summarize([broken], dialogues, GEN)
    assert pool.summarize([runs["lora"]], dialogues, GEN)[runs["lora"]].summaries == alone[runs["lora"]]
    assert pool.loaded()["lora"] == [runs["lora"]]
    assert_no_trace(pool, broken)


def test_a_truncated_full_model_fails_named_and_the_others_still_answer(faulty, dialogues, alone):
    """In the pool: one damaged model.safetensors fails alone, every time, and the other runs still answer."""
    studio, runs = faulty
    broken = damaged_copy(studio, runs["full"], "truncated", weights="model.safetensors")
    pool = ModelPool(studio.base, studio.store)
    for _ in range(2):
        with pytest.raises(ModelLoadError, match=f"{broken}.*model.safetensors is damaged"):
            pool.summarize([broken], dialogues, GEN)
    assert pool.loaded()["full"] == []
    out = pool.summarize([ORIGINAL, runs["full"]], dialogues, GEN)
    assert out[ORIGINAL].summaries == alone[ORIGINAL] and out[runs["full"]].summaries == alone[runs["full"]]


def test_a_garbled_adapter_config_names_the_run_and_what_is_wrong(faulty, dialogues):
    """A bare JSON error naming no run used to come back."""
    studio, runs = faulty
    broken = damaged_copy(studio, runs["lora"], "garbled adapter_config.json")
    studio.store.rename(broken, "my garbled lora")
    with pytest.raises(ModelLoadError) as caught:
        ModelPool(studio.base, studio.store).summarize([broken], dialogues, GEN)
    message = str(caught.value)
    assert "'my garbled lora'" in message and broken in message
    assert "adapter_config.json is not valid JSON" in message and "line 1" in message


def test_an_adapter_of_the_other_method_is_refused_by_name(faulty, dialogues):
    studio, runs = faulty
    odd = damaged_copy(studio, runs["lora"], "truncated")
    shutil.copy(studio.store.model_dir(runs["prompt"]) / "adapter_config.json",
                studio.store.model_dir(odd) / "adapter_config.json")
    with pytest.raises(ModelLoadError, match="PROMPT_TUNING.*not LORA"):
        ModelPool(studio.base, studio.store).summarize([odd], dialogues, GEN)


def test_a_broken_run_is_never_scored(faulty):
    """/evaluate used to write the original's ROUGE into the broken run's record."""
    studio, runs = faulty
    broken = damaged_copy(studio, runs["lora"], "no adapter weights")
    # The copy carries whatever its source's record holds: an earlier test in this process may have
    # evaluated the good run. Start the broken one with no scores, so any found later came from here.
    studio.store.update(broken, metrics=None)
    assert not studio.run(broken).metrics
    for _ in range(2):
        with pytest.raises(ModelLoadError):
            studio.summarize([broken], "Anna: Hi.\nBen: Hello.")
        with pytest.raises(ModelLoadError):
            studio.evaluate([ORIGINAL, broken], limit=2)
    assert not studio.run(broken).metrics


def test_the_error_survives_pickling():
    """A ZeroGPU call hands its exceptions back pickled; the run id must come with them."""
    error = pickle.loads(pickle.dumps(ModelLoadError("lora-x", "Run lora-x cannot be loaded: ...")))
    assert isinstance(error, ValueError) and error.run_id == "lora-x" and str(error).startswith("Run lora-x")
