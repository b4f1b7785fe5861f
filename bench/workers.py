"""Two trainings from two people, one worker against two, side by side in one run.

    .venv/bin/python -m bench.workers --steps 30 --rounds 2      # prints one JSON object
    results = compare_workers(cache_dir, runs_root, steps=30, rounds=2)

Each round trains the same two quick stand-in LoRA runs (different people, so both
are let into the queue) once with STUDIO_TRAINING_WORKERS=1 (in the studio's
process, one after the other) and once with 2 (each in its own process with half
the cores), and times from the first submit to the second run's end: what the
second person waits for. The rounds alternate the order, so a busy spell on a
shared machine does not land on one setting only.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from studio.config.settings import Settings, TrainConfig


def both_trainings_seconds(settings: Settings, steps: int) -> dict:
    from studio.service.engine import Studio

    studio = Studio(settings)
    train = TrainConfig(steps=steps, batch_size=8, train_size=400)   # the "quick" preset
    started = time.perf_counter()
    jobs = [studio.submit_training("lora", train, owner=person, client=person) for person in ("ann", "ben")]
    for job in jobs:
        studio.wait_job(job.job_id)
        if job.status != "completed":
            raise RuntimeError(f"{job.run_id} ended {job.status}: {job.error}")
    return {"seconds": round(time.perf_counter() - started, 2), "workers": studio.workers.describe(),
            "train_seconds": [job.record.train_seconds for job in jobs]}


def compare_workers(cache_dir: Path, runs_root: Path, steps: int = 30, rounds: int = 2) -> dict:
    results: dict = {"1": [], "2": []}
    for round_number in range(rounds):
        order = ("1", "2") if round_number % 2 == 0 else ("2", "1")
        for workers in order:
            settings = Settings.from_env(env={}, offline=True, data="bundled", cache_dir=cache_dir,
                                         runs_dir=runs_root / f"round{round_number}-workers{workers}",
                                         training_workers=int(workers))
            results[workers].append(both_trainings_seconds(settings, steps))
    return {"steps": steps, "rounds": rounds, "machine": machine(), "results": results}


def machine() -> dict:
    import psutil
    import torch

    return {"cpu": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0)),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.is_available(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def main(argv=None) -> None:
    import tempfile

    from studio import quiet_libraries
    from studio.model.standin import STANDIN_NAME, build_standin

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    quiet_libraries()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as folder:
        root = Path(folder)
        build_standin(root / "cache" / STANDIN_NAME)
        print(json.dumps(compare_workers(root / "cache", root / "runs", args.steps, args.rounds), indent=1))


if __name__ == "__main__":
    main()
