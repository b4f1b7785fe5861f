"""Command line: `python -m studio COMMAND ...`; every command takes --json for one JSON object on stdout.

    python -m studio data --data bundled --json
    python -m studio train --method lora --steps 30 --json
    python -m studio evaluate --models original lora-2026... --limit 50 --json
    python -m studio summarize --model original --text "#Person1#: Hi ..."
    python -m studio score --predictions preds.txt --references refs1.txt refs2.txt --json
    python -m studio runs --json                  # "skipped": run files that could not be read
    python -m studio rename RUN_ID "a better name"; python -m studio delete RUN_ID
    python -m studio prepare        # train the three methods with default presets, for a demo
    python -m studio experiment --methods full lora prompt --steps 30 --limit 50 --json   # one fair comparison
    python -m studio prefetch       # while online: cache the base model and dataset
    python -m studio bench          # speed and memory against the course recipe

Bad input ends with one line `error: ...` on stderr and exit status 2.
Scores in JSON are fractions (0.42), not percent.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .config import (
    METHOD_SETTINGS,
    METHODS,
    PRECISIONS,
    EvaluationSettings,
    GenerationSettings,
    Settings,
    TrainConfig,
)
from .declare import add_flags, flag_values, spec

EXIT_BAD_INPUT = 2


class CliError(Exception):
    pass


def _add_common(parser: argparse.ArgumentParser, model: bool = True) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--data", help="hub id, local folder, CSV/JSONL file, or 'bundled'")
    parser.add_argument("--runs-dir", help="where runs are stored (default ./runs or /data/runs)")
    if model:
        parser.add_argument("--base-model", help="hub id or local model folder")
        parser.add_argument("--offline", action="store_true", default=None,
                            help="never touch the network (same as HF_HUB_OFFLINE=1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m studio", description="Tuning Studio engine")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="splits, examples and references of a data source")
    _add_common(p, model=False)

    p = sub.add_parser("train", help="train one run")
    _add_common(p)
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--name", default="")
    p.add_argument("--precision", choices=PRECISIONS, default="auto")
    add_flags(p, TrainConfig, title="training (every method)")
    for method, cls in METHOD_SETTINGS.items():  # flags named --lora-..., --prompt-...
        add_flags(p, cls, prefix=method, title=f"{method} only")

    p = sub.add_parser("evaluate", help="ROUGE of models on a split")
    _add_common(p)
    p.add_argument("--models", nargs="+", required=True, help="'original' and/or run ids")
    p.add_argument("--split", default="test")
    add_flags(p, EvaluationSettings)
    add_flags(p, GenerationSettings, title="generation")

    p = sub.add_parser("summarize", help="summarize one dialogue")
    _add_common(p)
    p.add_argument("--model", required=True, help="'original' or a run id")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text")
    src.add_argument("--file")
    add_flags(p, GenerationSettings, title="generation")

    p = sub.add_parser("score", help="ROUGE of prediction lines against reference lines")
    p.add_argument("--json", action="store_true")
    p.add_argument("--predictions", required=True)
    p.add_argument("--references", nargs="+", required=True)

    p = sub.add_parser("runs", help="list saved runs")
    _add_common(p, model=False)
    _add_run_commands(sub)

    p = sub.add_parser("prepare", help="train the three methods with default presets")
    _add_common(p)
    p.add_argument("--steps", type=int)
    p.add_argument("--force", action="store_true", help="train even where a completed run exists")

    p = sub.add_parser("prefetch", help="cache the base model and dataset while online")
    _add_common(p)

    p = sub.add_parser("bench", help="speed and memory benchmark against the course recipe")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", default="bench/results/latest.json")
    p.add_argument("--quick", action="store_true", help="fewer steps and dialogues (a smoke run)")
    p.add_argument("--only", choices=("experiment", "validation"),
                   help="one stage alone: the quick fair experiment, or the validation loss's cost")
    _add_experiment_command(sub)
    return parser


def _add_experiment_command(sub) -> None:
    p = sub.add_parser("experiment", help="train several methods on one budget, then compare them fairly")
    _add_common(p)
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                   help="methods to train (default: all three)")
    add_flags(p, TrainConfig, title="budget (the same for every method)")
    add_flags(p, EvaluationSettings)
    # Generation's own --batch-size would collide with the budget's; the summary length is what matters here.
    length = spec(GenerationSettings, "max_new_tokens")
    p.add_argument("--max-new-tokens", type=int, help=f"{length.help}; default {length.default}")


def cmd_experiment(args) -> dict:
    """Train each method on the same budget, evaluate them with the original, print the comparison."""
    train = _train_config(args)
    limit = EvaluationSettings(**flag_values(args, EvaluationSettings)).validate().limit
    generation = GenerationSettings(**({"max_new_tokens": args.max_new_tokens}
                                       if args.max_new_tokens is not None else {})).validate()
    studio = _studio(args)
    seen: set = set()

    def progress(stage):
        key = (stage.get("stage"), stage.get("method"), stage.get("status"), stage.get("index"))
        if key in seen or stage.get("stage") not in ("training", "evaluating"):
            return
        seen.add(key)
        if stage["stage"] == "training" and stage.get("status") == "running":
            _say(args, f"training {stage['method']} ({stage['index']} of {stage['of']}) ...")
        elif stage["stage"] == "evaluating":
            _say(args, f"evaluating {stage['model']} ({stage['index']} of {stage['of']}) ...")

    out = studio.run_experiment(args.methods, train, limit=limit, settings=generation, progress=progress)
    if out["status"] == "failed":
        raise CliError(f"the experiment failed: {out.get('error')}")
    if not args.json:
        _print_experiment(out)
    return out


def _print_experiment(out: dict) -> None:
    budget = out["budget"]
    print(f"Experiment {out['experiment']}: {budget['steps']} steps x batch {budget['batch_size']} from "
          f"{budget['train_size']} pairs, seed {budget['seed']}; {out['examples']} test dialogues; "
          f"{out['seconds']:.0f} s")
    for method, error in out["failed"].items():
        print(f"  {method} did not complete: {error}")
    for model, scores in out["scores"].items():
        print(f"{out['labels'][model]:<20} " + "  ".join(
            f"{m} {100 * scores[m]['mean']:.1f} [{100 * scores[m]['low']:.1f}, {100 * scores[m]['high']:.1f}]"
            for m in ("rouge1", "rouge2", "rougeL")))
    for pair in out["paired"]:
        print(f"  {pair['sentence']}")


def _add_run_commands(sub) -> None:
    """delete / rename: the CLI may change any run (it runs as the operator, not as a session)."""
    p = sub.add_parser("delete", help="delete a run (not one that is still training)")
    p.add_argument("run_id")
    _add_common(p, model=False)
    p = sub.add_parser("rename", help="give a run a new name")
    p.add_argument("run_id")
    p.add_argument("name")
    _add_common(p, model=False)


def _settings(args) -> Settings:
    return Settings.from_env(base_model=getattr(args, "base_model", None), data=args.data,
                             runs_dir=args.runs_dir, offline=getattr(args, "offline", None))


def _studio(args):
    from .engine import Studio

    return Studio(_settings(args))


def _say(args, text: str) -> None:
    """Human progress: stderr when stdout is reserved for JSON."""
    print(text, file=sys.stderr if args.json else sys.stdout, flush=True)


def cmd_data(args) -> dict:
    from .data import resolve_data
    from .offline import is_offline

    settings = _settings(args)
    data, notice = resolve_data(settings.data, settings.data_explicit, is_offline(settings))
    if notice:
        _say(args, f"note: {notice}")
    out = data.summary()
    out["source"] = data.description
    if not args.json:
        for name, info in out["splits"].items():
            print(f"{name:<11} {info['examples']:>6} examples  {info['references']:>6} references")
    return out


def _train_config(args) -> TrainConfig:
    """TrainConfig from the flags given; unset flags keep the declared defaults."""
    values = flag_values(args, TrainConfig)
    if "epochs" in values:  # an epoch budget replaces the default step budget
        values.setdefault("steps", None)
    return TrainConfig(**values).validate()


def _run_training(studio, args, method: str, cfg: TrainConfig, overrides: dict, name: str = "") -> dict:
    job = studio.submit_training(method, cfg, overrides, owner="cli", name=name,
                                 precision=getattr(args, "precision", "auto"))
    seen = 0
    try:
        while job.status in ("queued", "running"):
            time.sleep(0.2)
            for event in job.events[seen:]:
                if event.get("type") == "step" and (event["step"] % 10 == 0 or event["step"] == 1):
                    _say(args, f"  step {event['step']}/{event['max_steps']}  loss {event['loss']:.4f}")
                elif event.get("type") == "status":
                    _say(args, f"  {event['message']}")
            seen = len(job.events)
    except KeyboardInterrupt:
        _say(args, "  stopping after this step ...")
        studio.stop_job(job.job_id, "cli")
        studio.wait_job(job.job_id)
    record = job.record or studio.run(job.run_id)
    return {"run_id": record["run_id"], "method": method, "status": record["status"],
            "trainable_params": record.get("trainable_params"), "total_params": record.get("total_params"),
            "train_seconds": record.get("train_seconds"), "samples_per_second": record.get("samples_per_second"),
            "final_loss": record.get("final_loss"), "run_dir": str(studio.run_dir(record["run_id"])),
            **({"error": record["error"]} if record.get("error") else {})}


def cmd_train(args) -> dict:
    overrides = flag_values(args, METHOD_SETTINGS[args.method])
    cfg = _train_config(args)
    studio = _studio(args)
    for notice in studio.notices:
        _say(args, f"note: {notice}")
    out = _run_training(studio, args, args.method, cfg, overrides, args.name)
    if out["status"] == "failed":
        raise CliError(f"training failed: {out.get('error')}")
    if not args.json:
        print(f"{out['run_id']}: {out['status']}, {out['trainable_params']:,} trainable parameters, "
              f"final loss {out['final_loss']:.4f}, {out['train_seconds']:.1f} s")
    return out


def cmd_prepare(args) -> dict:
    studio = _studio(args)
    cfg = TrainConfig()
    if args.steps is not None:
        cfg.steps = args.steps
    out = {}
    for method in METHODS:
        existing = [r for r in studio.loadable_runs(method) if r.get("status") == "completed"]
        if existing and not args.force:
            _say(args, f"{method}: keeping {existing[0]['run_id']} (use --force to train anew)")
            out[method] = {"run_id": existing[0]["run_id"], "status": "kept"}
            continue
        _say(args, f"{method}: training {cfg.steps} steps ...")
        out[method] = _run_training(studio, args, method, cfg, {}, name=f"{method} (prepared)")
    return {"runs": out}


def _generation(args) -> GenerationSettings:
    return GenerationSettings(**flag_values(args, GenerationSettings)).validate()


def cmd_evaluate(args) -> dict:
    limit = EvaluationSettings(**flag_values(args, EvaluationSettings)).validate().limit
    generation = _generation(args)
    studio = _studio(args)
    result = studio.evaluate(args.models, limit=limit, split=args.split, settings=generation)
    out = result.to_json()
    out["split"] = args.split
    if not args.json:
        print(f"{result.examples} dialogues, {result.seconds:.1f} s ({result.examples_per_second:.2f}/s)")
        for model_id in result.models:
            s = result.scores[model_id]
            print(f"{result.labels[model_id]:<40} " + "  ".join(
                f"{m} {100 * s[m]['mean']:.2f} [{100 * s[m]['low']:.2f}, {100 * s[m]['high']:.2f}]"
                for m in ("rouge1", "rouge2", "rougeL")))
    return out


def cmd_summarize(args) -> dict:
    text = args.text if args.text is not None else _read_text(args.file)
    studio = _studio(args)
    summary = studio.summarize([args.model], text, _generation(args))[0]
    if not args.json:
        print(summary.text)
    return {"model": summary.model, "summary": summary.text, "seconds": round(summary.seconds, 3)}


def cmd_score(args) -> dict:
    from .evaluation import METRICS, rouge_summary, rouge_table

    predictions = _read_lines(args.predictions)
    reference_sets = [_read_lines(path) for path in args.references]
    for path, lines in zip(args.references, reference_sets):
        if len(lines) != len(predictions):
            raise CliError(f"{path} has {len(lines)} lines but {args.predictions} has {len(predictions)}.")
    if not predictions:
        raise CliError(f"{args.predictions} has no lines.")
    table = rouge_table(predictions, [list(references) for references in zip(*reference_sets)])
    summary = rouge_summary(table)
    out = {m: summary[m]["mean"] for m in METRICS}
    out["n"] = len(predictions)
    out["intervals"] = {m: [summary[m]["low"], summary[m]["high"]] for m in METRICS}
    if not args.json:
        for m in METRICS:
            print(f"{m:<10} {100 * out[m]:6.2f}  [{100 * summary[m]['low']:.2f}, {100 * summary[m]['high']:.2f}]")
    return out


def cmd_runs(args) -> dict:
    from .engine import Studio

    runs, problems = Studio.saved_runs(Settings.from_env(runs_dir=args.runs_dir))
    if not args.json:
        for r in runs:
            loss = f"{r['final_loss']:.4f}" if r.get("final_loss") is not None else "-"
            print(f"{r['run_id']:<36} {r['method']:<7} {r['status']:<11} loss {loss}")
    for problem in problems:
        _say(args, f"skipped: {problem['run_id']}/{problem['file']}: {problem['reason']}")
    return {"runs": runs, "skipped": problems}


def cmd_delete(args) -> dict:
    from .engine import Studio

    record = Studio.delete_saved_run(Settings.from_env(runs_dir=args.runs_dir), args.run_id)
    if not args.json:
        print(f"deleted {args.run_id} ({record.get('name') or args.run_id})")
    return {"run_id": args.run_id, "deleted": True}


def cmd_rename(args) -> dict:
    from .engine import Studio

    record = Studio.rename_saved_run(Settings.from_env(runs_dir=args.runs_dir), args.run_id, args.name)
    if not args.json:
        print(f"{args.run_id} is now named {record['name']!r}")
    return {"run_id": args.run_id, "name": record["name"]}


def cmd_prefetch(args) -> dict:
    from .data import load_data
    from .offline import is_offline, load_base

    settings = _settings(args)
    if is_offline(settings):
        raise CliError("prefetch needs the network, and there is none (or HF_HUB_OFFLINE is set).")
    _say(args, f"caching {settings.base_model} ...")
    load_base(settings.base_model)
    _say(args, f"caching {settings.data} ...")
    data = load_data(settings.data)
    return {"base_model": settings.base_model, "data": data.summary()}


def cmd_bench(args) -> dict:
    from .bench import run_benchmark

    if args.only:
        from .bench_experiment import bench_experiment, bench_validation_cost

        stage = bench_experiment if args.only == "experiment" else bench_validation_cost
        out = stage(Settings.from_env().cache_dir, say=lambda t: _say(args, t))
        if not args.json:
            print(json.dumps(out, indent=2))
        return out

    return run_benchmark(out_path=Path(args.out), quick=args.quick, say=lambda t: _say(args, t))


COMMANDS = {"data": cmd_data, "train": cmd_train, "evaluate": cmd_evaluate, "summarize": cmd_summarize,
            "score": cmd_score, "runs": cmd_runs, "prepare": cmd_prepare, "prefetch": cmd_prefetch,
            "bench": cmd_bench, "delete": cmd_delete, "rename": cmd_rename, "experiment": cmd_experiment}


def _read_text(path: str) -> str:
    """A text file of at most the upload limit; reads one byte past it, never more.

    The size on disk says nothing for /dev/zero, a pipe or /proc files (all size 0),
    so the read itself is capped.
    """
    from .config import MAX_UPLOAD_BYTES

    limit_mb = MAX_UPLOAD_BYTES // 2**20
    size = Path(path).stat().st_size
    limit = f"the limit is {limit_mb} MB ({MAX_UPLOAD_BYTES:,} bytes)"
    if size > MAX_UPLOAD_BYTES:  # a stray disk image is refused before any read
        raise CliError(f"{path} is {size:,} bytes; {limit}.")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_UPLOAD_BYTES + 1)
    except PermissionError:
        raise CliError(f"{path} cannot be read (permission denied).") from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise CliError(f"{path} holds more than {MAX_UPLOAD_BYTES:,} bytes; {limit}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text.") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as reading in text mode would


def _read_lines(path: str) -> list[str]:
    return [line.strip() for line in _read_text(path).splitlines()]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from . import quiet_libraries
    from .data import DataError
    from .engine import USER_ERRORS

    quiet_libraries()
    try:
        out = COMMANDS[args.command](args)
    except (CliError, DataError, FileNotFoundError, IsADirectoryError, *USER_ERRORS) as exc:
        message = str(exc) if not isinstance(exc, FileNotFoundError) else f"no such file: {exc.filename}"
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(out, default=str))
    return 0
