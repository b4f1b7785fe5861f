"""Benchmark stages for fair experiments: the quick experiment's wall time, and what the validation loss costs.

    python -m studio bench --only experiment     # 3 methods x 30 steps x batch 8, then 4 models on 50 dialogues
    python -m studio bench --only validation     # LoRA training speed with and without the validation loss

Both use the benchmark's FLAN-T5-small (the real one when cached, else its architecture with
random weights: speed depends on the shapes). A random model never stops early, so every
summary runs the full 64 new tokens: generation time here is an upper bound.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from studio.config.settings import GenerationSettings, Settings, TrainConfig
from studio.data.dialogsum import DialogData, load_bundled
from studio.model.methods import registry

QUICK = {"steps": 30, "batch_size": 8}
TEST_DIALOGUES = 50


def _bench_data() -> DialogData:
    """The bundled dialogues, with 50 test dialogues (the sample has 16 test ones; the rest are taken
    from its other splits: only their lengths matter for speed)."""
    data = load_bundled()
    pool = data.split("test") + data.split("validation") + data.split("train")
    splits = dict(data.splits, test=pool[:TEST_DIALOGUES])
    return DialogData(splits, "bundled", data.description, is_sample=True)


def _studio(work: Path, cache_dir: Path, precision: str = "auto"):
    from bench.model import bench_model
    from studio.service.engine import Studio

    model_path, real = bench_model(cache_dir)
    settings = Settings.from_env(env={}, base_model=model_path, offline=True, data="bundled",
                                 runs_dir=work / "runs", cache_dir=cache_dir, precision=precision)
    return Studio(settings, data=_bench_data()), real


def _conditions(precision: str) -> dict:
    from bench.report import machine

    return {"machine": machine(), "precision_setting": precision,
            "load_average_before": [round(x, 2) for x in os.getloadavg()]}


def _trained_in(record) -> str | None:
    """The precision a run actually trained in, as its record (a RunRecord) says ("bf16" or "fp32")."""
    return (record.hyperparameters or {}).get("precision")


def _precisions_used(studio, runs: dict) -> dict:
    """What actually ran, read back from the run records and the pool (not what was asked for)."""
    import torch

    training = {method: _trained_in(studio.run(run_id)) for method, run_id in runs.items()}
    generation = "bf16" if studio.pool.dtype == torch.bfloat16 else "fp32"
    return {"training_precision": training, "generation_precision": generation}


def bench_experiment(cache_dir: Path, precision: str = "auto", say=print) -> dict:
    """Wall time of the quick experiment, from submitting the trainings to the paired result."""
    conditions = _conditions(precision)
    with tempfile.TemporaryDirectory() as work:
        studio, real = _studio(Path(work), cache_dir, precision)
        methods = registry.DEFAULT_NAMES
        say(f"experiment: {len(methods)} methods x {QUICK['steps']} steps x batch {QUICK['batch_size']}, "
            f"then {len(methods) + 1} models on {TEST_DIALOGUES} dialogues ({precision} precision) ...")
        started = time.perf_counter()
        out = studio.run_experiment(list(methods), TrainConfig(**QUICK), limit=TEST_DIALOGUES,
                                    settings=GenerationSettings())
        seconds = time.perf_counter() - started
        if out["status"] != "completed" or out["failed"]:
            raise RuntimeError(f"the benchmark experiment did not complete: {out.get('error') or out['failed']}")
        used = _precisions_used(studio, out["runs"])
    return {"stage": "experiment", "real_flan_t5_small": real, "seconds": round(seconds, 1),
            "minutes": round(seconds / 60, 2), "train_seconds": out["train_seconds"],
            "evaluation_seconds": out.get("evaluation_seconds"), "examples": out["examples"],
            "budget": out["budget"], **used, "load_average_after": [round(x, 2) for x in os.getloadavg()],
            **conditions}


def bench_validation_cost(cache_dir: Path, steps: int = 30, precision: str = "auto", say=print) -> dict:
    """LoRA's training-loop throughput with the validation loss off and at its default interval."""
    from studio.train.training import TrainSpec, train_run

    conditions = _conditions(precision)
    out = {"stage": "validation", "steps": steps, **conditions}
    with tempfile.TemporaryDirectory() as work:
        studio, out["real_flan_t5_small"] = _studio(Path(work), cache_dir, precision)
        default = TrainConfig()
        for label, every in (("on", default.eval_every), ("off", 0)):
            say(f"validation loss {label}: LoRA, {steps} steps ...")
            cfg = TrainConfig(steps=steps, batch_size=8, eval_every=every)
            spec = TrainSpec("lora", cfg, registry.method_settings("lora"), precision=precision)
            record = train_run(spec, studio.store, studio.base, studio.data)
            out[label] = {"eval_every": every, "samples_per_second": record.samples_per_second,
                          "train_loop_seconds": record.train_loop_seconds,
                          "eval_seconds": record.eval_seconds or 0.0,
                          "validation_pairs": record.validation_pairs or 0, "precision": _trained_in(record)}
    off, on = out["off"]["samples_per_second"], out["on"]["samples_per_second"]
    out["throughput_cost_percent"] = round(100 * (1 - on / off), 1) if off else None
    # Within the one run: the validation passes' share of its loop time. A busy machine slows both
    # parts alike, so this share holds up where the off/on comparison of two runs does not.
    out["eval_share_of_loop_percent"] = round(100 * out["on"]["eval_seconds"] / out["on"]["train_loop_seconds"], 1)
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out
