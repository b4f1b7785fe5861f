"""`bench`: speed and memory against the course recipe (bench/ beside studio/, in a source checkout only).

    python -m studio bench                      # the whole benchmark, written to bench/results/latest.json
    python -m studio bench --only experiment --precision fp32 --json   # one stage alone
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from studio.cli.command import Command, add_json_flag, say
from studio.cli.errors import CliError
from studio.config.settings import PRECISIONS, Settings
from studio.model.methods import registry


def _bench_arguments(p) -> None:
    add_json_flag(p)
    p.add_argument("--out", default="bench/results/latest.json", help="where to write the results as JSON")
    p.add_argument("--quick", action="store_true", help="fewer steps and dialogues (a smoke run)")
    p.add_argument("--only", choices=("experiment", "validation", "compile", "compile-run"),
                   help="one stage alone: the quick fair experiment, the validation loss's cost, compiled "
                        "training steps against eager (it writes the profile `--compile auto` decides by), or a "
                        "whole quick run eager and compiled")
    p.add_argument("--method", choices=registry.NAMES, default=None,
                   help="with --only compile: the method whose training step is timed (default: full fine-tuning)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="with --only: auto (bf16 where the CPU or GPU runs it natively), or force fp32 / bf16 "
                        "(fp32 on a bf16 CPU stands in for a CPU without it)")


def _load_benchmark():
    """The benchmark lives beside the package in a source checkout (bench/); an installed studio has none."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "bench" / "__init__.py").is_file() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))  # so `tuning-studio bench` finds it from any directory
    try:
        from bench import run_benchmark
    except ModuleNotFoundError as exc:
        if exc.name != "bench":
            raise
        raise CliError("the benchmark is not installed with the studio: run `python -m studio bench` "
                       "from a source checkout (it lives in bench/ beside studio/).") from None
    return run_benchmark


def cmd_bench(args) -> dict:
    if args.method and args.only != "compile":  # nothing else reads it: refused, not silently ignored
        raise CliError("--method applies only to `bench --only compile` (the timed training step); the other "
                       "stages use their own methods.")
    run_benchmark = _load_benchmark()
    if args.only in ("compile", "compile-run"):  # bench/compile_speed.py: fp32, as a CPU without bf16 trains
        from bench.compile_speed import bench_compile, bench_quick_runs

        cache_dir, progress = Settings.from_env().cache_dir, lambda t: say(args, t)
        out = bench_compile(cache_dir, say=progress, method=args.method) if args.only == "compile" else \
            bench_quick_runs(cache_dir, say=progress)
        if not args.json:
            print(json.dumps(out, indent=2))
        return out
    if args.only:  # one stage alone (bench/experiment.py)
        from bench.experiment import bench_experiment, bench_validation_cost

        stage = bench_experiment if args.only == "experiment" else bench_validation_cost
        out = stage(Settings.from_env().cache_dir, precision=args.precision, say=lambda t: say(args, t))
        if not args.json:
            print(json.dumps(out, indent=2))
        return out
    return run_benchmark(out_path=Path(args.out), quick=args.quick, say=lambda t: say(args, t))


COMMANDS = (Command("bench", "speed and memory benchmark against the course recipe", _bench_arguments, cmd_bench),)
