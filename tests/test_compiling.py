"""studio/train/compiling.py: when a run compiles its training step, and that a compiled run learns as an eager one."""
import json
import math
import os

import pytest

from studio.config.declare import flag_values
from studio.config.settings import TrainConfig
from studio.model.base_model import load_base
from studio.model.methods import registry
from studio.train.compiling import (
    PAD_BUCKET,
    CompileDecision,
    compile_decision,
    read_profile,
    use_compile_cache,
    write_profile,
)
from studio.train.training import TrainSpec, batch_collator, compile_results, train_run
from tests.conftest import TINY_TRAIN

# Eager 4 s a step, compiled 3 s, 120 s to compile: at batch 8 a run saves 1 s a step, so 120 steps break even.
PROFILE = {"eager_step_seconds": 4.0, "compiled_step_seconds": 3.0, "compile_seconds": 120.0}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The studio's cache folder for this test (the profile and inductor's caches go under it)."""
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path))
    for name in ("TORCHINDUCTOR_CACHE_DIR", "TORCHINDUCTOR_FX_GRAPH_CACHE", "TORCHINDUCTOR_AUTOGRAD_CACHE"):
        # Set, then removed: monkeypatch then puts back what was there before (or nothing), also over
        # the value use_compile_cache writes, so this test's folder does not outlive it.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return tmp_path / "compile"


def test_on_and_off_decide_for_themselves(cache):
    assert compile_decision("on", "cpu", 1, 8).compile
    write_profile(PROFILE)
    assert not compile_decision("off", "cpu", 100_000, 8).compile


def test_auto_stays_eager_without_a_profile_measured_on_this_machine(cache):
    decision = compile_decision("auto", "cpu", 100_000, 8)
    assert not decision.compile and "no measured profile" in decision.reason
    write_profile(PROFILE)
    stored = json.loads((cache / "profile.json").read_text())
    (cache / "profile.json").write_text(json.dumps({**stored, "machine": "another CPU | 2 cores | torch 0"}))
    assert read_profile() is None and not compile_decision("auto", "cpu", 100_000, 8).compile
    (cache / "profile.json").write_text("{not json")
    assert read_profile() is None


def test_auto_compiles_when_the_steps_earn_the_compile_back(cache):
    write_profile(PROFILE)
    assert read_profile()["compile_seconds"] == 120.0
    short = compile_decision("auto", "cpu", 30, 8)       # saves 30 s of a 120 s compile
    assert not short.compile and "less than the 120 s compile" in short.reason
    long = compile_decision("auto", "cpu", 200, 8)       # saves 200 s
    assert long.compile and "200 steps save about 200 s" in long.reason
    assert compile_decision("auto", "cpu", 100, 16).compile   # a step of twice the batch saves twice as much
    # A model a hundredth the size saves a hundredth per step: 200 steps no longer earn the compile back.
    assert not compile_decision("auto", "cpu", 200, 8, model_params=769_611).compile
    slower = {**PROFILE, "compiled_step_seconds": 5.0}   # a machine where compiling does not help at all
    assert not compile_decision("auto", "cpu", 100_000, 8, profile=slower).compile


def test_a_profile_with_missing_or_bad_numbers_is_not_used(cache):
    write_profile({**PROFILE, "compile_seconds": -1})
    assert read_profile() is None
    write_profile({"eager_step_seconds": 4.0})
    assert read_profile() is None


def test_the_setting_is_one_of_three_and_has_its_flag():
    from studio import cli

    assert TrainConfig().compile == "auto"
    with pytest.raises(ValueError, match="compile setting must be one of auto, on, off"):
        TrainConfig(compile="sometimes").validate()
    args = cli.build_parser().parse_args(["train", "--method", "lora", "--compile", "on"])
    assert flag_values(args, TrainConfig)["compile"] == "on"


def _losses(studio, record) -> list[float]:
    return [e["loss"] for e in studio.store.events(record.run_id) if e["type"] == "step"]


def test_a_compiled_run_learns_as_an_eager_one_and_says_it_compiled(studio, cache):
    """Same seed, same pairs: the loss curves agree within fp32 noise (padding to the compiler's buckets adds
    masked positions only); the record says which run compiled, why, and what the compile cost.

    LoRA's dropout is off: the compiled graph draws its random masks with its own generator, and masks of
    differently padded batches differ anyway, so with dropout on the curves part from the first step.

    Dialogues are cut at 128 tokens, so every batch has one dialogue shape and the compiler compiles once
    (each shape costs 30-40 s here); summaries still pad to 64 compiled against 8 eager, so the curves
    agreeing shows the compiled run's extra padding is masked."""
    def run(setting):
        spec = TrainSpec("lora", TrainConfig(steps=4, compile=setting, eval_every=0, max_source_tokens=128,
                                             **TINY_TRAIN),
                         registry.method_settings("lora", {"lora_dropout": 0.0}))
        record = train_run(spec, studio.store, studio.base, studio.data)
        assert record.status == "completed", record.error
        return record

    eager, compiled = run("off"), run("on")
    assert eager.compiled is False and eager.compile_reason == "asked for eager"
    assert "compile_seconds" not in eager.as_dict()
    assert compiled.compiled is True and compiled.compile_seconds > 0   # the first step compiled
    assert (cache / "inductor").is_dir() and any((cache / "inductor").iterdir())   # the cache is kept on disk
    for a, b in zip(_losses(studio, eager), _losses(studio, compiled), strict=True):
        assert math.isclose(a, b, rel_tol=1e-3), (_losses(studio, eager), _losses(studio, compiled))



def test_inductor_caches_go_to_the_studio_folder_unless_the_operator_chose_one(cache, monkeypatch):
    """Importing transformers' Trainer writes inductor's /tmp default into TORCHINDUCTOR_CACHE_DIR: that value
    must not count as a choice, or the studio's cache would never be used."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", default_cache_dir())
    assert use_compile_cache() == cache / "inductor"
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(cache / "inductor") and (cache / "inductor").is_dir()
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(cache.parent / "operators-own"))
    assert use_compile_cache() == cache.parent / "operators-own"
    assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(cache.parent / "operators-own")


def test_a_compiled_run_pads_to_the_compilers_buckets_and_an_eager_one_to_eight(studio):
    _, tokenizer = load_base(studio.base.path)
    pairs = [{"input_ids": [5] * 70, "labels": [6] * 9}, {"input_ids": [5] * 3, "labels": [6] * 20}]
    for compiled, multiple in ((True, PAD_BUCKET), (False, 8)):
        batch = batch_collator(tokenizer, compiled)(pairs)
        assert batch["input_ids"].shape == (2, math.ceil(70 / multiple) * multiple)
        assert batch["labels"].shape == (2, math.ceil(20 / multiple) * multiple)
        assert (batch["labels"][0, 9:] == -100).all()   # padding never counts in the loss


def test_compile_seconds_count_every_compiling_step_even_in_a_short_run():
    """The time beyond a typical step's, summed over the steps that compiled; in 4 steps with two shapes, half
    the steps compile, and a median would take a compile for the typical step and report none."""
    def steps(*durations):
        clock, out = 0.0, []
        for d in durations:
            clock += d
            out.append({"elapsed": clock})
        return out

    on = CompileDecision(True, "asked for")
    assert compile_results(on, steps(40.0, 0.5, 30.0, 0.5))["compile_seconds"] == 69.0
    assert compile_results(on, steps(40.0, *[0.5] * 29))["compile_seconds"] == 39.5
    assert compile_results(on, steps(0.5, 0.6, 0.5, 0.7))["compile_seconds"] == 0   # nothing compiled again
    assert compile_results(on, [])["compiled"] is True
    off = compile_results(CompileDecision(False, "asked for eager"), steps(40.0, 0.5))
    assert off == {"compiled": False, "compile_reason": "asked for eager"}
