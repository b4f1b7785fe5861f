"""What a command is, and what the commands share: the common flags, the Studio they drive, progress lines.

    def _arguments(parser):
        add_common(parser, model=False)

    def cmd_runs(args) -> dict:          # the one JSON object `--json` prints
        ...

    COMMANDS = (Command("runs", "list saved runs", _arguments, cmd_runs),)

Each command-group module (data.py, training.py, runs.py, ...) lists its commands once, in its
COMMANDS; studio/cli/__init__.py builds the parser from those lists and runs the command asked for.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from studio.cli.errors import CliError
from studio.config.settings import Settings


@dataclass(frozen=True)
class Command:
    name: str       # what the person types: `python -m studio NAME ...`
    help: str       # its line in `--help`
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], dict | None]   # the JSON for --json; None: a silent distributed rank


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_common(parser: argparse.ArgumentParser, model: bool = True) -> None:
    """--json, --data, --runs-dir, and (model=True, commands that load the base model) --base-model, --offline."""
    add_json_flag(parser)
    parser.add_argument("--data", help="hub id, local folder, CSV/JSONL file, or 'bundled'")
    parser.add_argument("--runs-dir", help="where runs are stored (default ./runs or /data/runs)")
    if model:
        parser.add_argument("--base-model", help="hub id or local model folder")
        parser.add_argument("--offline", action="store_true", default=None,
                            help="never touch the network (same as HF_HUB_OFFLINE=1)")


def settings_from(args) -> Settings:
    """The environment's settings, with the common flags the command was given.

    An empty flag is refused: `--runs-dir "$UNSET"` once made the current folder the runs folder, and
    `--base-model ""` was read as "." (the environment's empty variables mean "not set" instead)."""
    _refuse_empty(args, ("base_model", "data", "runs_dir"))
    return Settings.from_env(base_model=getattr(args, "base_model", None), data=args.data,
                             runs_dir=args.runs_dir, offline=getattr(args, "offline", None))


def runs_settings(args) -> Settings:
    """The environment's settings with --runs-dir only: for the commands that read the store and load no model."""
    _refuse_empty(args, ("runs_dir",))
    return Settings.from_env(runs_dir=args.runs_dir)


def _refuse_empty(args, names) -> None:
    for name in names:
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            raise CliError(f"--{name.replace('_', '-')} is empty; give a value, or leave the flag out for the default.")


def studio_from(args):
    """A Studio on the command's settings (this loads torch and resolves the base model and data)."""
    from studio.service.engine import Studio

    return Studio(settings_from(args))


def say(args, text: str) -> None:
    """Human progress: stderr when stdout is reserved for JSON."""
    print(text, file=sys.stderr if args.json else sys.stdout, flush=True)
