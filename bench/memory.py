"""Resident memory of the model pool holding four models (original, full, LoRA, prompt) against one.

    results = pool_memory(model_path, runs_dir, data)   # trains a one-step run of each method first

Each measurement runs in a fresh process (`python -m bench.memory MODEL RUNS_DIR MODEL_IDS`),
so nothing this process loaded earlier counts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _probe(model_path: str, runs_dir: str, model_ids: list[str]) -> dict:
    """In the fresh process: load `model_ids` into a pool, summarize once, report RSS before and after."""
    import gc

    import psutil

    from studio import quiet_libraries

    quiet_libraries()
    from studio.generate.inference import GenerationSettings, ModelPool
    from studio.model.base_model import BaseModelChoice
    from studio.model.hardware import inference_dtype
    from studio.store.runs import RunStore

    def rss():
        return psutil.Process().memory_info().rss

    pool = ModelPool(BaseModelChoice(model_path, model_path), RunStore(runs_dir), dtype=inference_dtype("auto"))
    gc.collect()
    before = rss()
    pool.summarize(model_ids, ["#Person1#: Hello.\n#Person2#: Hi, how are you?"],
                   GenerationSettings(max_new_tokens=4))
    gc.collect()
    return {"rss_before": before, "rss_after": rss(), "loaded": pool.loaded()}


def measure_memory(model_path: str, runs_dir: Path, model_ids: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.memory", model_path, str(runs_dir), ",".join(model_ids)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["models_bytes"] = out["rss_after"] - out["rss_before"]
    return out


def pool_memory(model_path: str, runs_dir: Path, data) -> dict:
    """One model alone against the pool with original + full + LoRA + prompt (one-step runs)."""
    from studio.config.settings import TrainConfig
    from studio.model.base_model import BaseModelChoice
    from studio.model.methods import registry
    from studio.store.runs import RunStore
    from studio.train.training import TrainSpec, train_run

    store = RunStore(runs_dir)
    base = BaseModelChoice(model_path, model_path)
    run_ids = {}
    for method in ("full", "lora", "prompt"):
        spec = TrainSpec(method, TrainConfig(steps=1, batch_size=2, train_size=2), registry.method_settings(method))
        run_ids[method] = train_run(spec, store, base, data)["run_id"]
    one = measure_memory(model_path, runs_dir, ["original"])
    four = measure_memory(model_path, runs_dir, ["original", run_ids["full"], run_ids["lora"], run_ids["prompt"]])
    return {"one_model": one, "four_models": four,
            "ratio_models": four["models_bytes"] / one["models_bytes"],
            "ratio_process": four["rss_after"] / one["rss_after"]}


if __name__ == "__main__":
    print(json.dumps(_probe(sys.argv[1], sys.argv[2], sys.argv[3].split(","))))
