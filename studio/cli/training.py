"""`train`: one run, its progress on the console, and the other ranks of a torchrun / accelerate launch.

    python -m studio train --method lora --steps 30 --json
    torchrun --nproc_per_node 2 -m studio train --method full --steps 30   # rank 0 alone records and prints
"""
from __future__ import annotations

from studio.cli.command import Command, add_common, say, settings_from, studio_from
from studio.cli.errors import CliError
from studio.config.declare import add_flags, flag_values
from studio.config.settings import PRECISIONS, TrainConfig
from studio.model.methods import registry

# The job owner of the CLI's trainings: Ctrl-C stops them as this owner.
CLI_OWNER = "cli"


def _train_arguments(p) -> None:
    add_common(p)
    p.add_argument("--method", required=True, choices=registry.NAMES, help="how to adapt the base model")
    p.add_argument("--name", default="", help="a name for the run (default: made from method and time)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto: bf16 where the CPU or GPU runs it natively, else fp32; or force fp32 or bf16")
    add_flags(p, TrainConfig, title="training (every method)")
    for method in registry.METHODS:  # its fields carry its prefix: --lora-r, --prompt-init, ...
        add_flags(p, method.settings, title=f"{method.name} only")


def train_config(args) -> TrainConfig:
    """TrainConfig from the flags given; unset flags keep the declared defaults."""
    from studio.train.trackers import require_tracker

    values = flag_values(args, TrainConfig)
    if "epochs" in values:  # an epoch budget replaces the default step budget
        values.setdefault("steps", None)
    cfg = TrainConfig(**values).validate()
    require_tracker(cfg.report_to)   # before the base model loads: a missing package is one line, at once
    return cfg


def follow_training(studio, args, method: str, job) -> dict:
    """Say a queued training's progress until it ends (Ctrl-C stops it); what `train --json` prints of it."""
    seen = 0
    try:
        ended = False
        while not ended:
            studio.wait_for_job_news(job.job_id, seen)   # wakes on each new event and at the end: no polling
            ended = job.ended  # read before the events, so none that came before the end is missed
            events = job.events
            for event in events[seen:]:
                if event.get("type") == "step" and (event["step"] % 10 == 0 or event["step"] == 1):
                    say(args, f"  step {event['step']}/{event['max_steps']}  loss {event['loss']:.4f}")
                elif event.get("type") == "status":
                    say(args, f"  {event['message']}")
            seen = len(events)
    except KeyboardInterrupt:
        say(args, "  stopping after this step ...")
        studio.stop_job(job.job_id, CLI_OWNER)
        studio.wait_job(job.job_id)
        args.interrupted = True   # main() exits 130 once the result is out; prepare trains no further method
    record = job.record or studio.run(job.run_id)
    return {"run_id": record.run_id, "method": method, "status": record.status,
            "trainable_params": record.trainable_params, "total_params": record.total_params,
            "train_seconds": record.train_seconds, "samples_per_second": record.samples_per_second,
            "final_loss": record.final_loss, "run_dir": str(studio.run_dir(record.run_id)),
            **({"reported_to": record.reported_to} if record.reported_to else {}),
            **({"error": record.error} if record.error else {})}


def cmd_train(args) -> dict | None:
    from studio.model.distributed import current_world

    overrides = flag_values(args, registry.get(args.method).settings)
    cfg = train_config(args)
    if not current_world().is_main:  # torchrun / accelerate launch: rank 0 alone records and reports
        return _train_follower(args, cfg, overrides)
    studio = studio_from(args)
    for notice in studio.notices:
        say(args, f"note: {notice}")
    job = studio.submit_training(args.method, cfg, overrides, owner=CLI_OWNER, name=args.name,
                                 precision=args.precision)
    out = follow_training(studio, args, args.method, job)
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

    settings = settings_from(args)
    require_allowed_base(settings)
    base = resolve_base_model(settings)
    data, _ = resolve_data(settings.data, settings.data_explicit, is_offline(settings))
    precision = settings.precision if args.precision == "auto" else args.precision
    spec = TrainSpec(args.method, cfg, registry.method_settings(args.method, overrides), precision=precision)
    train_as_follower(spec, base, data)


COMMANDS = (Command("train", "train one run", _train_arguments, cmd_train),)
