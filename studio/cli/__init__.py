"""Command line: `python -m studio COMMAND ...`; every command takes --json for one JSON object on stdout.

    python -m studio data --data bundled --json
    python -m studio train --method lora --steps 30 --json
    python -m studio evaluate --models original lora-2026... --limit 50 --json
    python -m studio summarize --model original --text "#Person1#: Hi ..."
    python -m studio score --predictions preds.txt --references refs1.txt refs2.txt --json
    python -m studio runs --json                  # "skipped": run files that could not be read
    python -m studio rename RUN_ID "a better name"; python -m studio delete RUN_ID
    python -m studio push RUN_ID --repo me/flan-lora [--private] [--dry-run] --json
    python -m studio pull me/flan-lora --json     # or a local run / PEFT adapter folder
    python -m studio prepare        # train the three methods with default presets, for a demo
    python -m studio experiment --methods full lora prompt --steps 30 --limit 50 --json   # one fair comparison
    python -m studio prefetch       # while online: cache the base model and dataset
    python -m studio bench          # speed and memory against the course recipe
    python -m studio overlap --summary TEXT --reference TEXT [--reference TEXT ...] [--dialogue TEXT] [--fool]
    python -m studio prompt-tokens RUN_ID --top-k 5  # what a prompt-tuning run's virtual tokens are near
    python -m studio forgetting --models original RUN_ID ...   # what each method forgot
    python -m studio weight-change RUN_ID [--matrix NAME] --json   # where a run changed the weights

Bad input ends with one line `error: ...` on stderr and exit status 2.
Scores in JSON are fractions (0.42), not percent.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from studio.config.declare import add_flags, flag_values, spec
from studio.config.settings import (
    PRECISIONS,
    EvaluationSettings,
    GenerationSettings,
    Settings,
    TrainConfig,
)
from studio.model.methods import registry

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


def program_name() -> str:
    """How the person started the CLI, for usage lines: the console script or `python -m studio`."""
    return "tuning-studio" if Path(sys.argv[0]).name == "tuning-studio" else "python -m studio"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name(), description="Tuning Studio engine")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="splits, examples and references of a data source")
    _add_common(p, model=False)
    _add_model_commands(sub)
    p = sub.add_parser("runs", help="list saved runs")
    _add_common(p, model=False)
    _add_run_commands(sub)
    _add_hub_commands(sub)
    _add_setup_commands(sub)
    _add_experiment_command(sub)
    _add_insight_commands(sub)
    return parser


def _add_model_commands(sub) -> None:
    """train, evaluate, summarize, score."""
    p = sub.add_parser("train", help="train one run")
    _add_common(p)
    p.add_argument("--method", required=True, choices=registry.NAMES, help="how to adapt the base model")
    p.add_argument("--name", default="", help="a name for the run (default: made from method and time)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: bf16 where the CPU or GPU runs it natively, else fp32; or force fp32 or bf16")
    add_flags(p, TrainConfig, title="training (every method)")
    for method in registry.METHODS:  # its fields carry its prefix: --lora-r, --prompt-init, ...
        add_flags(p, method.settings, title=f"{method.name} only")

    p = sub.add_parser("evaluate", help="ROUGE and BLEU of models on a split")
    _add_common(p)
    p.add_argument("--models", nargs="+", required=True, help="'original' and/or run ids")
    p.add_argument("--split", default="test", help="the data split to score on")
    add_flags(p, EvaluationSettings)
    add_flags(p, GenerationSettings, title="generation")

    p = sub.add_parser("summarize", help="summarize one dialogue")
    _add_common(p)
    p.add_argument("--model", required=True, help="'original' or a run id")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the dialogue itself, one turn per line")
    src.add_argument("--file", help="a text file holding the dialogue")
    add_flags(p, GenerationSettings, title="generation")

    p = sub.add_parser("score", help="ROUGE and BLEU of prediction lines against reference lines")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--predictions", required=True, help="a text file, one summary per line")
    p.add_argument("--references", nargs="+", required=True,
                   help="one or more text files, each with one reference per line of --predictions")


def _add_setup_commands(sub) -> None:
    """prepare, prefetch, bench: getting a studio ready, and measuring it."""
    p = sub.add_parser("prepare", help="train the three methods with default presets")
    _add_common(p)
    p.add_argument("--steps", type=int, help="steps for each method (default: each method's preset)")
    p.add_argument("--force", action="store_true", help="train even where a completed run exists")

    p = sub.add_parser("prefetch", help="cache the base model and dataset while online")
    _add_common(p)

    p = sub.add_parser("bench", help="speed and memory benchmark against the course recipe")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--out", default="bench/results/latest.json", help="where to write the results as JSON")
    p.add_argument("--quick", action="store_true", help="fewer steps and dialogues (a smoke run)")
    p.add_argument("--only", choices=("experiment", "validation"),
                   help="one stage alone: the quick fair experiment, or the validation loss's cost")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="with --only: auto (bf16 where the CPU or GPU runs it natively), or force fp32 / bf16 "
                        "(fp32 on a bf16 CPU stands in for a CPU without it)")


def _add_experiment_command(sub) -> None:
    p = sub.add_parser("experiment", help="train several methods on one budget, then compare them fairly")
    _add_common(p)
    p.add_argument("--methods", nargs="+", choices=registry.NAMES, default=list(registry.DEFAULT_NAMES),
                   help=f"methods to train (default: {' '.join(registry.DEFAULT_NAMES)})")
    add_flags(p, TrainConfig, title="budget (the same for every method)")
    add_flags(p, EvaluationSettings)
    from studio.service.experiment import ExperimentSettings

    add_flags(p, ExperimentSettings)   # --seeds
    # Generation's own --batch-size would collide with the budget's; the summary length is what matters here.
    length = spec(GenerationSettings, "max_new_tokens")
    p.add_argument("--max-new-tokens", type=int, help=f"{length.help}; default {length.default}")
    p.add_argument("--resume", metavar="ID",
                   help="finish an experiment a restart cut short: train what is missing, then evaluate "
                        "(its own budget and methods; the other flags are ignored)")


def cmd_experiment(args) -> dict:
    """Train each method on the same budget, evaluate them with the original, print the comparison."""
    from studio.service.experiment import ExperimentSettings

    if not args.resume:
        train = _train_config(args)
        limit = EvaluationSettings(**flag_values(args, EvaluationSettings)).validate().limit
        seeds = ExperimentSettings(**flag_values(args, ExperimentSettings)).seeds
        generation = GenerationSettings(**({"max_new_tokens": args.max_new_tokens}
                                           if args.max_new_tokens is not None else {})).validate()
    studio = _studio(args)
    seen: set = set()
    resumed = studio.experiment(args.resume) if args.resume else None
    several = (len(resumed.seeds) if resumed is not None else 1 if args.resume else seeds) > 1

    def progress(stage):
        # One line per training once it has started (a short one may already have ended when first
        # seen: it is announced all the same), and one per model evaluated.
        if stage.get("stage") == "training" and stage.get("status") != "queued":
            seed = f" seed {stage['seed']}" if several and stage.get("seed") is not None else ""
            line = f"training {stage['method']}{seed} ({stage['index']} of {stage['of']}) ..."
        elif stage.get("stage") == "evaluating":
            line = f"evaluating {stage['model']} ({stage['index']} of {stage['of']}) ..."
        else:
            return
        if line not in seen:
            seen.add(line)
            _say(args, line)

    if args.resume:   # the CLI runs as the operator: it may finish anyone's experiment (it stays theirs)
        if studio.experiment(args.resume) is None:
            cut = [f"{e.experiment_id} ({e.where})" for e in studio.experiments.all() if e.finishable]
            raise CliError(f"there is no experiment {args.resume[:80]!r}; cut short: "
                           f"{', '.join(cut) if cut else 'none'}.")
        out = studio.finish_experiment(args.resume, "", progress=progress, operator=True, wait=True)
    else:
        out = studio.run_experiment(args.methods, train, limit=limit, settings=generation, progress=progress,
                                    seeds=seeds)
    if out["status"] == "failed":
        raise CliError(f"the experiment failed: {out.get('error')}")
    if not args.json:
        _print_experiment(out)
    return out


def _print_experiment(out: dict) -> None:
    budget, seeds = out["budget"], out.get("seeds") or [out["budget"]["seed"]]
    seed = f"seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else f"seed {budget['seed']}"
    print(f"Experiment {out['experiment']}: {budget['steps']} steps x batch {budget['batch_size']} from "
          f"{budget['train_size']} pairs, {seed}; {out['examples']} test dialogues; "
          f"{out['seconds']:.0f} s")
    verdict = out.get("verdict")
    if verdict:
        print(verdict["headline"])
    for method, error in out["failed"].items():
        print(f"  {method} did not complete: {error}")
    for model, scores in out["scores"].items():
        print(f"{out['labels'][model]:<20} " + "  ".join(
            f"{m} {100 * scores[m]['mean']:.1f} [{100 * scores[m]['low']:.1f}, {100 * scores[m]['high']:.1f}]"
            for m in ("rouge1", "rouge2", "rougeL")))
    for pair in (verdict or {}).get("pairs") or out["paired"]:
        print(f"  {pair['sentence']}")
    if verdict:
        print(verdict["note"])


def _add_run_commands(sub) -> None:
    """delete / rename: the CLI may change any run (it runs as the operator, not as a session)."""
    p = sub.add_parser("delete", help="delete a run (not one that is still training)")
    p.add_argument("run_id", help="the run's id, as `runs` lists it")
    _add_common(p, model=False)
    p = sub.add_parser("rename", help="give a run a new name")
    p.add_argument("run_id", help="the run's id, as `runs` lists it")
    p.add_argument("name", help="the new name")
    _add_common(p, model=False)


def _add_hub_commands(sub) -> None:
    """push / pull: a run to a Hub model repo and back (hub.py)."""
    p = sub.add_parser("push", help="upload a finished run to a Hugging Face model repo")
    p.add_argument("run_id", help="the run's id, as `runs` lists it")
    p.add_argument("--repo", required=True, help="OWNER/NAME of the model repo")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--dry-run", action="store_true", help="only write the folder that would be uploaded")
    p.add_argument("--out", help="with --dry-run: the (new or empty) folder to write")
    _add_common(p, model=False)
    p = sub.add_parser("pull", help="import a pushed run or a PEFT adapter folder into the run store")
    p.add_argument("source", help="OWNER/NAME on the Hub, or a local folder")
    _add_common(p)


# The Hub client builder push/pull use; tests replace it with a fake that records what would be sent.
HUB_CLIENT_FACTORY = None


def cmd_push(args) -> dict:
    from studio.service.engine import Studio

    if args.out and not args.dry_run:
        raise CliError("--out goes with --dry-run (an upload uses a temporary folder).")
    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise CliError(f"--out {short_path(args.out)} is an existing file: give a new or empty folder.")
    out = Studio.push_saved_run(Settings.from_env(runs_dir=args.runs_dir), args.run_id, args.repo,
                                private=args.private, dry_run=args.dry_run,
                                folder=Path(args.out) if args.out else None, client_factory=HUB_CLIENT_FACTORY)
    if not args.json:
        if args.dry_run:
            print(f"would upload {len(out['files'])} files from {out['folder']}:")
            for name in out["files"]:
                print(f"  {name}")
        else:
            print(f"pushed {args.run_id} to {out.get('repo_url') or args.repo}")
    return out


def cmd_pull(args) -> dict:
    studio = _studio(args)
    record = studio.pull_run(args.source, client_factory=HUB_CLIENT_FACTORY)
    if not args.json:
        print(f"imported {args.source} as {record['run_id']} ({studio.run_label(record)})")
    return {"run_id": record["run_id"], "method": record["method"], "name": record.get("name"),
            "status": record["status"], "pulled_from": record.get("pulled_from"),
            "run_dir": str(studio.run_dir(record["run_id"]))}


def _settings(args) -> Settings:
    return Settings.from_env(base_model=getattr(args, "base_model", None), data=args.data,
                             runs_dir=args.runs_dir, offline=getattr(args, "offline", None))


def _studio(args):
    from studio.service.engine import Studio

    return Studio(_settings(args))


def _say(args, text: str) -> None:
    """Human progress: stderr when stdout is reserved for JSON."""
    print(text, file=sys.stderr if args.json else sys.stdout, flush=True)


def cmd_data(args) -> dict:
    from studio.data.dialogsum import resolve_data
    from studio.measure.topics import group_counts
    from studio.model.network import is_offline

    settings = _settings(args)
    data, notice = resolve_data(settings.data, settings.data_explicit, is_offline(settings))
    if notice:
        _say(args, f"note: {notice}")
    out = data.summary()
    out["source"] = data.description
    out["topic_groups"] = {split: group_counts(data, split) for split in data.splits}
    if not args.json:
        for name, info in out["splits"].items():
            print(f"{name:<11} {info['examples']:>6} examples  {info['references']:>6} references")
    return out


def _train_config(args) -> TrainConfig:
    """TrainConfig from the flags given; unset flags keep the declared defaults."""
    from studio.train.trackers import require_tracker

    values = flag_values(args, TrainConfig)
    if "epochs" in values:  # an epoch budget replaces the default step budget
        values.setdefault("steps", None)
    cfg = TrainConfig(**values).validate()
    require_tracker(cfg.report_to)   # before the base model loads: a missing package is one line, at once
    return cfg


def _run_training(studio, args, method: str, cfg: TrainConfig, overrides: dict, name: str = "") -> dict:
    job = studio.submit_training(method, cfg, overrides, owner="cli", name=name,
                                 precision=getattr(args, "precision", "auto"))
    seen = 0
    try:
        ended = False
        while not ended:
            job.wait_for_news(seen)   # wakes on each new event and at the end: no polling
            ended = job.done.is_set()  # read before the events, so none that came before the end is missed
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
            **({"reported_to": record["reported_to"]} if record.get("reported_to") else {}),
            **({"error": record["error"]} if record.get("error") else {})}


def cmd_train(args) -> dict | None:
    from studio.model.distributed import current_world

    overrides = flag_values(args, registry.get(args.method).settings)
    cfg = _train_config(args)
    if not current_world().is_main:  # torchrun / accelerate launch: rank 0 alone records and reports
        return _train_follower(args, cfg, overrides)
    studio = _studio(args)
    for notice in studio.notices:
        _say(args, f"note: {notice}")
    out = _run_training(studio, args, args.method, cfg, overrides, args.name)
    if out["status"] == "failed":
        raise CliError(f"training failed: {out.get('error')}")
    if not args.json:
        print(f"{out['run_id']}: {out['status']}, {out['trainable_params']:,} trainable parameters, "
              f"final loss {out['final_loss']:.4f}, {out['train_seconds']:.1f} s")
        if out.get("reported_to"):
            print(f"reported to {out['reported_to']['tracker']}: {out['reported_to']['where']}")
    return out


def _train_follower(args, cfg: TrainConfig, overrides: dict) -> None:
    """Another rank of a distributed training: the same base model and data, no Studio, no store, no output."""
    from studio.data.dialogsum import resolve_data
    from studio.model.base_model import resolve_base_model
    from studio.model.network import is_offline
    from studio.service.engine import require_allowed_base
    from studio.train.training import TrainSpec, train_as_follower

    settings = _settings(args)
    require_allowed_base(settings)
    base = resolve_base_model(settings)
    data, _ = resolve_data(settings.data, settings.data_explicit, is_offline(settings))
    precision = settings.precision if args.precision == "auto" else args.precision
    spec = TrainSpec(args.method, cfg, registry.method_settings(args.method, overrides), precision=precision)
    train_as_follower(spec, base, data)


def cmd_prepare(args) -> dict:
    studio = _studio(args)
    cfg = TrainConfig()
    if args.steps is not None:
        cfg.steps = args.steps
    out = {}
    for method in registry.DEFAULT_NAMES:
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
    out.update(_evaluation_insight(studio, result))
    if not args.json:
        print(f"{result.examples} dialogues, {result.seconds:.1f} s ({result.examples_per_second:.2f}/s)")
        for model_id in result.models:
            s = result.scores[model_id]
            print(f"{result.labels[model_id]:<40} " + "  ".join(
                f"{m} {100 * s[m]['mean']:.2f} [{100 * s[m]['low']:.2f}, {100 * s[m]['high']:.2f}]"
                for m in ("rouge1", "rouge2", "rougeL", "bleu") if m in s))
    return out


def cmd_summarize(args) -> dict:
    text = args.text if args.text is not None else _read_text(args.file)
    studio = _studio(args)
    summary = studio.summarize([args.model], text, _generation(args))[0]
    if not args.json:
        print(summary.text)
    return {"model": summary.model, "summary": summary.text, "seconds": round(summary.seconds, 3)}


def cmd_score(args) -> dict:
    from studio.measure.evaluation import BLEU, METRICS, bleu_statistics, bleu_summary, rouge_summary, rouge_table

    predictions = _read_lines(args.predictions)
    reference_sets = [_read_lines(path) for path in args.references]
    for path, lines in zip(args.references, reference_sets):
        if len(lines) != len(predictions):
            raise CliError(f"{path} has {len(lines)} lines but {args.predictions} has {len(predictions)}.")
    if not predictions:
        raise CliError(f"{args.predictions} has no lines.")
    references = [list(lines) for lines in zip(*reference_sets)]
    table = rouge_table(predictions, references)
    # Corpus BLEU (sacrebleu) beside ROUGE, a fraction like the ROUGE keys, with the same bootstrap interval.
    summary = {**rouge_summary(table), BLEU: bleu_summary(bleu_statistics(predictions, references))}
    out = {m: summary[m]["mean"] for m in (*METRICS, BLEU)}
    out["n"] = len(predictions)
    out["intervals"] = {m: [summary[m]["low"], summary[m]["high"]] for m in (*METRICS, BLEU)}
    if not args.json:
        for m in (*METRICS, BLEU):
            print(f"{m:<10} {100 * out[m]:6.2f}  [{100 * summary[m]['low']:.2f}, {100 * summary[m]['high']:.2f}]")
    return out


def cmd_runs(args) -> dict:
    from studio.service.engine import Studio

    runs, problems = Studio.saved_runs(Settings.from_env(runs_dir=args.runs_dir))
    if not args.json:
        for r in runs:
            loss = f"{r['final_loss']:.4f}" if r.get("final_loss") is not None else "-"
            print(f"{r['run_id']:<36} {r['method']:<7} {r['status']:<11} loss {loss}")
    for problem in problems:
        _say(args, f"skipped: {problem['run_id']}/{problem['file']}: {problem['reason']}")
    return {"runs": runs, "skipped": problems}


def cmd_delete(args) -> dict:
    from studio.service.engine import Studio

    record = Studio.delete_saved_run(Settings.from_env(runs_dir=args.runs_dir), args.run_id)
    if not args.json:
        print(f"deleted {args.run_id} ({record.get('name') or args.run_id})")
    return {"run_id": args.run_id, "deleted": True}


def cmd_rename(args) -> dict:
    from studio.service.engine import Studio

    record = Studio.rename_saved_run(Settings.from_env(runs_dir=args.runs_dir), args.run_id, args.name)
    if not args.json:
        print(f"{args.run_id} is now named {record['name']!r}")
    return {"run_id": args.run_id, "name": record["name"]}


def cmd_prefetch(args) -> dict:
    from studio.data.dialogsum import load_data
    from studio.model.base_model import load_base
    from studio.model.network import is_offline

    settings = _settings(args)
    if is_offline(settings):
        raise CliError("prefetch needs the network, and there is none (or HF_HUB_OFFLINE is set).")
    _say(args, f"caching {settings.base_model} ...")
    load_base(settings.base_model)
    _say(args, f"caching {settings.data} ...")
    data = load_data(settings.data)
    return {"base_model": settings.base_model, "data": data.summary()}


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
    run_benchmark = _load_benchmark()
    if args.only:  # one stage of issue 11 alone (bench/experiment.py)
        from bench.experiment import bench_experiment, bench_validation_cost

        stage = bench_experiment if args.only == "experiment" else bench_validation_cost
        out = stage(Settings.from_env().cache_dir, precision=args.precision, say=lambda t: _say(args, t))
        if not args.json:
            print(json.dumps(out, indent=2))
        return out
    return run_benchmark(out_path=Path(args.out), quick=args.quick, say=lambda t: _say(args, t))


# ---------------------------------------------------------------- insight commands (issue 11)
def _add_insight_commands(sub) -> None:
    """overlap / prompt-tokens / forgetting / weight-change: the views that explain a comparison, as JSON."""
    p = sub.add_parser("overlap", help="which summary words ROUGE counted against the best reference")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--summary", required=True, help="the summary to check")
    p.add_argument("--reference", action="append", required=True, help="a reference summary; repeat for more")
    p.add_argument("--dialogue", help="also mark which summary words were copied from this dialogue")
    p.add_argument("--fool", action="store_true",
                   help="also score the summary's words shuffled, the reference's most frequent word repeated "
                        "and (with --dialogue) the dialogue copied whole: can ROUGE be fooled?")

    p = sub.add_parser("prompt-tokens", help="nearest vocabulary tokens of a prompt-tuning run's virtual tokens")
    _add_common(p)
    p.add_argument("run_id", help="a prompt-tuning run's id")
    p.add_argument("--top-k", type=int, default=5, help="nearest tokens per virtual token (1 to 50)")

    p = sub.add_parser("forgetting", help="score models on tasks FLAN-T5 knew before fine-tuning")
    _add_common(p)
    p.add_argument("--models", nargs="+", required=True, help="'original' and/or run ids")

    p = sub.add_parser("weight-change", help="how much a run changed each weight matrix of the base model")
    _add_common(p)
    p.add_argument("run_id", help="a full fine-tuning, LoRA or prompt-tuning run's id")
    p.add_argument("--matrix", help="the weight matrix whose update's singular values to give, e.g. "
                                    "decoder.block.0.layer.0.SelfAttention.q.weight (default: the one that "
                                    "changed most)")


def cmd_overlap(args) -> dict:
    from studio.service.engine import Studio

    out = Studio.overlap(args.summary, args.reference)
    out["tokens"] = [{k: t[k] for k in ("text", "unigram", "bigram", "lcs")} for t in out["tokens"]]
    if args.dialogue is not None:
        copied = Studio.copied_words(args.summary, args.dialogue)
        out["copied"] = {"tokens": [{"text": t["text"], "copied": t["copied"]} for t in copied["tokens"]],
                         "new_words": copied["new_words"], "new_share": copied["new_share"]}
    if args.fool:
        from studio.measure.fooling import fool

        out["fool"] = fool(args.summary, args.reference, args.dialogue)
    if not args.json:
        print(f"best reference: {out['best_reference']}")
        for metric in ("rouge1", "rouge2", "rougeL"):
            s = out[metric]
            print(f"{metric:<7} P {100 * s['precision']:.1f}  R {100 * s['recall']:.1f}  F {100 * s['fmeasure']:.1f}")
        print(" ".join(f"[{t['text']}]" if t["unigram"] else t["text"] for t in out["tokens"]))
        for case in out.get("fool", {}).get("cases", []):
            print(f"\n{case['label']}: {case['text']}\n  " + "  ".join(
                f"{m} {100 * case[m]['fmeasure']:.1f}" for m in ("rouge1", "rouge2", "rougeL"))
                + f"  bleu {100 * case['bleu']:.1f}\n  {case['why']}")
    return out


def cmd_prompt_tokens(args) -> dict:
    studio = _studio(args)
    out = studio.prompt_readout(args.run_id, args.top_k)
    if not args.json:
        for entry in out["virtual_tokens"]:
            print(f"{entry['index']:>3}  " + "  ".join(f"{n['token']} ({n['cosine']:.2f})" for n in entry["nearest"]))
        print(out["caveat"])
    return out


def cmd_forgetting(args) -> dict:
    studio = _studio(args)
    out = studio.forgetting(args.models)
    if not args.json:
        print(f"{out['examples']} probe questions, tasks: " + ", ".join(f"{t} {n}" for t, n in out["tasks"].items()))
        for model, scores in out["scores"].items():
            change = out["change"].get(model, {}).get("overall")
            delta = f"  change {100 * change['exact_match']:+.1f}" if change else ""
            print(f"{model:<40} exact match {100 * scores['overall']['exact_match']:.1f}  "
                  f"F1 {100 * scores['overall']['f1']:.1f}{delta}")
    return out


def cmd_weight_change(args) -> dict:
    studio = _studio(args)
    out = studio.weight_change(args.run_id, args.matrix)
    if not args.json:
        if not out["changes_weights"]:
            print(out["message"])
            return out
        print("relative change ||W_tuned - W_base|| / ||W_base||, in %")
        width = max(len(c) for c in out["columns"])
        print(" " * 11 + "  ".join(f"{c:>{width}}" for c in out["columns"]))
        for row, values in zip(out["rows"], out["grid"]):
            print(f"{row:<11}" + "  ".join(f"{'':>{width}}" if v is None else f"{100 * v:>{width}.3g}" for v in values))
        for m in out["matrices"]:
            if m["layer"] is None:
                change = m["relative_change"]
                print(f"{m['kind']}: {'-' if change is None else f'{100 * change:.3g}'}")
        sv = out["singular_values"]
        limit = f", at most {sv['rank_limit']} by construction" if sv["rank_limit"] is not None else ""
        print(f"\nsingular values of the update to {sv['matrix']} (numerical rank {sv['numerical_rank']} of "
              f"{min(sv['shape'])}{limit}):")
        print(" ".join(f"{v:.3g}" for v in sv["values"]))
    return out


def _evaluation_insight(studio, result) -> dict:
    """evaluate --json's per_topic (topic groups) and paired (every pair's difference with its interval)."""
    from studio.measure.evaluation import pairwise_differences

    return {"per_topic": studio.per_topic(result), "paired": pairwise_differences(result)}


COMMANDS = {"data": cmd_data, "train": cmd_train, "evaluate": cmd_evaluate, "summarize": cmd_summarize,
            "score": cmd_score, "runs": cmd_runs, "prepare": cmd_prepare, "prefetch": cmd_prefetch,
            "bench": cmd_bench, "delete": cmd_delete, "rename": cmd_rename,
            "push": cmd_push, "pull": cmd_pull,
            "overlap": cmd_overlap, "prompt-tokens": cmd_prompt_tokens, "forgetting": cmd_forgetting,
            "weight-change": cmd_weight_change, "experiment": cmd_experiment}


def _read_text(path: str) -> str:
    """A text file of at most the upload limit; reads one byte past it, never more.

    The size on disk says nothing for /dev/zero, a pipe or /proc files (all size 0),
    so the read itself is capped.
    """
    from studio.config.settings import MAX_UPLOAD_BYTES

    limit_mb = MAX_UPLOAD_BYTES // 2**20
    size = Path(path).stat().st_size
    limit = f"the limit is {limit_mb} MB ({MAX_UPLOAD_BYTES:,} bytes)"
    if size > MAX_UPLOAD_BYTES:  # a stray disk image is refused before any read
        raise CliError(f"{path} is {size:,} bytes; {limit}.")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_UPLOAD_BYTES + 1)
    except PermissionError:
        raise CliError(f"{short_path(path)} cannot be read (permission denied).") from None
    except OSError as exc:   # /proc/self/mem and the like: there, but not readable as a file
        raise CliError(f"{short_path(path)} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    if len(data) > MAX_UPLOAD_BYTES:
        raise CliError(f"{path} holds more than {MAX_UPLOAD_BYTES:,} bytes; {limit}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text.") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as reading in text mode would


def _read_lines(path: str) -> list[str]:
    return [line.strip() for line in _read_text(path).splitlines()]


MAX_ERROR_CHARS = 600     # one readable line, whatever an exception carries
MAX_PATH_CHARS = 120


def short_path(path) -> str:
    """A path as an error line shows it: a 5,000-character name is cut in the middle, with its length."""
    text = str(path)
    if len(text) <= MAX_PATH_CHARS:
        return text
    return f"{text[:60]}…{text[-40:]} ({len(text):,} characters)"


def user_message(exc: BaseException) -> str:
    """The one line `error: ...` says for a user-caused failure."""
    if isinstance(exc, RecursionError):
        message = ("the input is nested too deeply to read (lists or objects inside each other thousands of "
                   "times): it is not a file the studio wrote")
    elif isinstance(exc, FileNotFoundError) and exc.filename is not None:
        message = f"no such file: {short_path(exc.filename)}"
    elif isinstance(exc, OSError) and exc.filename is not None:
        what = exc.strerror or type(exc).__name__
        message = f"cannot use {short_path(exc.filename)}: {what}"
        if exc.filename2 is not None:
            message += f" ({short_path(exc.filename2)})"
    else:
        message = str(exc) or type(exc).__name__
    message = " ".join(message.split())   # hub errors span several lines; the error is one
    return message if len(message) <= MAX_ERROR_CHARS else message[:MAX_ERROR_CHARS] + "…"


def _hub_errors() -> tuple:
    # Most hub errors are OSErrors; "no such file in the repo" is not.
    from huggingface_hub.errors import EntryNotFoundError

    return (EntryNotFoundError,)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from studio import quiet_libraries
    from studio.data.dialogsum import DataError
    from studio.service.engine import USER_ERRORS

    quiet_libraries()
    stdout = sys.stdout
    try:
        # With --json, stdout holds the one JSON object: whatever a library prints meanwhile (a tracker
        # announcing its run) is talk for the person, and goes to stderr with the studio's own progress.
        with contextlib.redirect_stdout(sys.stderr) if getattr(args, "json", False) else contextlib.nullcontext():
            out = COMMANDS[args.command](args)
    except (CliError, DataError, OSError, RecursionError, *USER_ERRORS, *_hub_errors()) as exc:
        # A user's mistake or their machine's refusal (a path, a file, the network, the hub): one line.
        # Anything else is a bug in the studio and keeps its traceback.
        print(f"error: {user_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json and out is not None:  # None: a distributed rank other than 0, which stays silent
        print(json.dumps(out, default=str), file=stdout)
    return 0
