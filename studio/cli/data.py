"""`data`: what a data source holds: splits, examples and references, topic groups.

    python -m studio data --data bundled --json
"""
from __future__ import annotations

from studio.cli.command import Command, add_common, say, settings_from


def _data_arguments(p) -> None:
    add_common(p, model=False)


def cmd_data(args) -> dict:
    from studio.data.dialogsum import resolve_data
    from studio.measure.topics import group_counts
    from studio.model.network import is_offline

    settings = settings_from(args)
    data, notice = resolve_data(settings.data, settings.data_explicit, is_offline(settings))
    if notice:
        say(args, f"note: {notice}")
    out = data.summary()
    out["source"] = data.description
    out["topic_groups"] = {split: group_counts(data, split) for split in data.splits}
    if not args.json:
        for name, info in out["splits"].items():
            print(f"{name:<11} {info['examples']:>6} examples  {info['references']:>6} references")
    return out


COMMANDS = (Command("data", "splits, examples and references of a data source", _data_arguments, cmd_data),)
