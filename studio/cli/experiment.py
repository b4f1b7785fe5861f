"""`experiment`: several methods trained on one budget, then compared fairly on the same dialogues.

    python -m studio experiment --methods full lora prompt --steps 30 --limit 50 --json
    python -m studio experiment --resume ID    # finish one a restart cut short
"""
from __future__ import annotations

from studio.cli.command import Command, add_common, say, studio_from
from studio.cli.errors import CliError
from studio.cli.training import train_config
from studio.config.declare import add_flags, flag_values, spec
from studio.config.settings import EvaluationSettings, GenerationSettings, TrainConfig
from studio.model.methods import registry


def _experiment_arguments(p) -> None:
    add_common(p)
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
        train = train_config(args)
        limit = EvaluationSettings(**flag_values(args, EvaluationSettings)).validate().limit
        seeds = ExperimentSettings(**flag_values(args, ExperimentSettings)).seeds
        generation = GenerationSettings(**({"max_new_tokens": args.max_new_tokens}
                                           if args.max_new_tokens is not None else {})).validate()
    studio = studio_from(args)
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
            say(args, line)

    if args.resume:   # the CLI runs as the operator: it may finish anyone's experiment (it stays theirs)
        if studio.experiment(args.resume) is None:
            cut = [f"{e.experiment_id} ({e.where})" for e in studio.all_experiments() if e.finishable]
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


COMMANDS = (Command("experiment", "train several methods on one budget, then compare them fairly",
                    _experiment_arguments, cmd_experiment),)
