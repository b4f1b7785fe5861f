"""`prepare`, `prefetch`: getting a studio ready for a demo, and for working offline.

    python -m studio prepare        # train the three methods with default presets, for a demo
    python -m studio prefetch       # while online: cache the base model and dataset
"""
from __future__ import annotations

from studio.cli.command import Command, add_common, say, settings_from, studio_from
from studio.cli.errors import CliError
from studio.cli.training import CLI_OWNER, follow_training
from studio.config.settings import TrainConfig


def _prepare_arguments(p) -> None:
    add_common(p)
    p.add_argument("--steps", type=int, help="steps for each method (default: each method's preset)")
    p.add_argument("--force", action="store_true", help="train even where a completed run exists")


def _prefetch_arguments(p) -> None:
    add_common(p)


def cmd_prepare(args) -> dict:
    """The facade decides what a prepare trains and keeps (as STUDIO_PREPARE does); this says it on the console."""
    studio = studio_from(args)
    cfg = TrainConfig()
    if args.steps is not None:
        cfg.steps = args.steps
    out = {}
    for method, kept in studio.preparation_plan(force=args.force):
        if kept is not None:
            say(args, f"{method}: keeping {kept.run_id} (use --force to train anew)")
            out[method] = {"run_id": kept.run_id, "status": "kept"}
            continue
        say(args, f"{method}: training {cfg.steps} steps ...")
        out[method] = follow_training(studio, args, method, studio.start_preparation(method, cfg, owner=CLI_OWNER))
        if getattr(args, "interrupted", False):   # Ctrl-C stops the preparation, not just this method
            break
    return {"runs": out}


def cmd_prefetch(args) -> dict:
    from studio.data.dialogsum import load_data
    from studio.model.base_model import load_base
    from studio.model.network import is_offline

    settings = settings_from(args)
    if is_offline(settings):
        raise CliError("prefetch needs the network, and there is none (or HF_HUB_OFFLINE is set).")
    say(args, f"caching {settings.base_model} ...")
    load_base(settings.base_model)
    say(args, f"caching {settings.data} ...")
    data = load_data(settings.data)
    return {"base_model": settings.base_model, "data": data.summary()}


COMMANDS = (
    Command("prepare", "train the three methods with default presets", _prepare_arguments, cmd_prepare),
    Command("prefetch", "cache the base model and dataset while online", _prefetch_arguments, cmd_prefetch),
)
