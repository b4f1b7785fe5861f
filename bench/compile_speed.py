"""Compiled training, measured: eager and torch.compile steps side by side, and this machine's profile.

    out = bench_compile(cache_dir)          # python -m studio bench --only compile [--method lora]
    python -m bench.compile_speed eager|compiled STEPS [METHOD]   # one measurement in its own process (JSON)

Each measurement runs in a process of its own, so a compiled one starts with nothing compiled in
memory: the first compiled process finds inductor's on-disk cache empty (a cold compile), the
second finds what the first left there (a warm one). The step is the one the studio trains: a
FLAN-T5-small-shaped model (random weights), dropout off, fused AdamW, full fine-tuning (or another
method of the registry, e.g. LoRA with its default settings, its dropout off too), one
fixed batch of 8 dialogues x 352 tokens -> 64 summary tokens, forward, backward and optimizer
step timed together. `bench_quick_runs` times whole quick runs the same three ways and writes the
profile `TrainConfig.compile="auto"` decides by (studio/train/compiling.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BATCH, SOURCE_TOKENS, TARGET_TOKENS = 8, 352, 64
GEMM_SHAPE = (2816, 512, 1024)   # rows x inner x columns: the size of a FLAN-T5-small projection on this batch


def _step_inputs():
    import torch

    generator = torch.Generator().manual_seed(0)
    return {"input_ids": torch.randint(5, 32000, (BATCH, SOURCE_TOKENS), generator=generator),
            "attention_mask": torch.ones(BATCH, SOURCE_TOKENS, dtype=torch.long),
            "labels": torch.randint(5, 32000, (BATCH, TARGET_TOKENS), generator=generator)}


def build_trainable(method: str | None = None):
    """The benchmark's model as `method` (a registry name; None: full fine-tuning) trains it, every dropout off
    (as the studio trains: no random masks, so eager and compiled steps compute the same function)."""
    from bench.model import build_flan_t5_small_random
    from studio.model.methods import registry
    from studio.train.training import set_base_dropout

    chosen = registry.get(method) if method else registry.whole_model_method()
    model = build_flan_t5_small_random(seed=0)
    set_base_dropout(model, 0.0)
    model = chosen.build(model, registry.method_settings(chosen.name))
    set_base_dropout(model, 0.0)   # again: the method's own dropout layers (LoRA's) came with it
    return model


def measure(mode: str, steps: int, method: str | None = None) -> dict:
    """Time `steps` training steps, eager or compiled, in this process; the losses to compare the two by."""
    import torch

    model = build_trainable(method)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=True)
    forward = torch.compile(model) if mode == "compiled" else model
    batch = _step_inputs()
    seconds, losses = [], []
    for _ in range(steps):
        started = time.perf_counter()
        loss = forward(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - started)
        losses.append(float(loss))
    return {"mode": mode, "step_seconds": [round(s, 3) for s in seconds], "losses": losses}


def step_flops(method: str | None = None) -> float:
    """FLOPs of one training step (forward and backward) of the benchmark's batch, as PyTorch counts them."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_trainable(method)
    with FlopCounterMode(display=False) as counter:
        model(**_step_inputs()).loss.backward()
    return float(counter.get_total_flops())


def gemm_gflops(repeats: int = 20) -> float:
    """This CPU's plain fp32 matrix-product rate on a projection-sized product, the best of `repeats`."""
    import torch

    rows, inner, columns = GEMM_SHAPE
    a, b = torch.randn(rows, inner), torch.randn(inner, columns)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * rows * inner * columns / best / 1e9


def _in_own_process(mode: str, steps: int, env: dict, method: str | None) -> dict:
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "bench.compile_speed", mode, str(steps), *([method] if method else [])]
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def bench_compile(cache_dir: Path, steps: int = 10, say=print, method: str | None = None) -> dict:
    """One fixed-shape step eager, compiled with a cold cache and with a warm one: what compiling does to the
    arithmetic (share of the GEMM rate), apart from the shapes a real run meets (bench_quick_runs).
    `method`: a registry name (None: full fine-tuning)."""
    from bench.report import machine
    from studio.train.compiling import machine_key

    compile_dir = cache_dir / "compile"
    inductor = compile_dir / "bench-inductor"
    shutil.rmtree(inductor, ignore_errors=True)
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(inductor), "TORCHINDUCTOR_FX_GRAPH_CACHE": "1",
           "TORCHINDUCTOR_AUTOGRAD_CACHE": "1"}
    runs = {}
    for label, mode in (("eager", "eager"), ("compiled_cold", "compiled"), ("compiled_warm", "compiled")):
        say(f"compile benchmark: {label}, {steps} steps in a process of its own ...")
        runs[label] = _in_own_process(mode, steps, env, method)
    eager = _median(runs["eager"]["step_seconds"][1:])
    compiled = _median(runs["compiled_cold"]["step_seconds"][1:] + runs["compiled_warm"]["step_seconds"][1:])
    cold = runs["compiled_cold"]["step_seconds"][0] - runs["eager"]["step_seconds"][0]
    warm = runs["compiled_warm"]["step_seconds"][0] - runs["eager"]["step_seconds"][0]
    say("compile benchmark: counting a step's FLOPs and timing a plain matrix product ...")
    flops, gemm = step_flops(method), gemm_gflops()
    drift = max(abs(a - b) / abs(a) for a, b in zip(runs["eager"]["losses"], runs["compiled_cold"]["losses"]))
    from studio.model.methods import registry

    whole_model = registry.whole_model_method().name
    out = {"stage": "compile", "method": method or whole_model, "machine": machine(), "machine_key": machine_key(),
           "steps": steps,
           "batch": f"{BATCH} x {SOURCE_TOKENS} -> {TARGET_TOKENS} tokens", "runs": runs,
           "eager_step_seconds": round(eager, 3), "compiled_step_seconds": round(compiled, 3),
           "speedup": round(eager / compiled, 3), "compile_seconds": round(max(cold, 0.0), 1),
           "warm_compile_seconds": round(max(warm, 0.0), 1),
           "step_gflop": round(flops / 1e9, 1), "gemm_gflops": round(gemm, 1),
           "eager_share_of_gemm_rate": round(flops / eager / 1e9 / gemm, 3),
           "compiled_share_of_gemm_rate": round(flops / compiled / 1e9 / gemm, 3),
           "max_relative_loss_difference": drift, "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    return out


def bench_quick_runs(cache_dir: Path, steps: int = 30, say=print) -> dict:
    """A whole quick run (full fine-tuning, `steps` x batch 8 on the bundled pairs), eager, compiled with a cold
    cache and compiled with a warm one: each `python -m studio train` in a process of its own, end to end.

    Writes this machine's profile, the one `--compile auto` decides by: a real run meets several padded
    lengths, and the compiler recompiles for them (then falls back to shape-generic code), so the costs
    and savings a run sees are these, not a fixed-shape step's."""
    import tempfile

    from bench.model import bench_model
    from bench.report import machine
    from studio.train.compiling import write_profile

    model_path, real = bench_model(cache_dir)
    inductor = cache_dir / "compile" / "bench-quick-inductor"
    shutil.rmtree(inductor, ignore_errors=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TORCHINDUCTOR_CACHE_DIR": str(inductor)}
    out = {"stage": "compile-quick-run", "steps": steps, "batch_size": 8, "real_flan_t5_small": real, "runs": {}}
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as work:
        for label, setting in (("eager", "off"), ("compiled_cold", "on"), ("compiled_warm", "on")):
            say(f"quick run: {label} ...")
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "studio", "train", "--method", "full", "--steps", str(steps),
                                   "--batch-size", "8", "--compile", setting, "--eval-every", "0", "--data", "bundled",
                                   "--base-model", model_path, "--offline", "--runs-dir", str(Path(work) / "runs"),
                                   "--json"], cwd=root, env=env, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - started
            result = json.loads(proc.stdout)
            record = json.loads((Path(result["run_dir"]) / "run.json").read_text())
            events = [json.loads(line) for line in (Path(result["run_dir"]) / "events.jsonl").read_text().splitlines()]
            out["runs"][label] = {"wall_seconds": round(wall, 1), "train_seconds": record["train_seconds"],
                                  "samples_per_second": record["samples_per_second"],
                                  "compiled": record["compiled"], "compile_seconds": record.get("compile_seconds"),
                                  "losses": [e["loss"] for e in events if e.get("type") == "step"]}
    runs = out["runs"]
    for label in ("compiled_cold", "compiled_warm"):
        out[f"{label}_end_to_end_speedup"] = round(runs["eager"]["wall_seconds"] / runs[label]["wall_seconds"], 3)
    out["max_relative_loss_difference"] = max(
        abs(a - b) / abs(a) for a, b in zip(runs["eager"]["losses"], runs["compiled_warm"]["losses"]))
    eager, cold, warm = runs["eager"], runs["compiled_cold"], runs["compiled_warm"]
    warm_compile = warm["compile_seconds"] or 0.0
    profile = {"eager_step_seconds": round(eager["train_seconds"] / steps, 3),
               "compiled_step_seconds": round((warm["train_seconds"] - warm_compile) / steps, 3),
               # Every compile and recompile a cold run paid: its time beyond the warm run's, plus the warm one's.
               "compile_seconds": round(cold["train_seconds"] - warm["train_seconds"] + warm_compile, 1),
               "warm_compile_seconds": round(warm_compile, 1), "measured_with": f"{steps}-step full fine-tuning runs"}
    out["profile"] = profile
    out["profile_path"] = str(write_profile(profile, cache_dir / "compile"))
    out["machine"] = machine()
    out["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), *sys.argv[3:4])))
