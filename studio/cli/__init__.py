"""Command line: `python -m studio COMMAND ...` (or `tuning-studio COMMAND ...`); every command takes --json
for one JSON object on stdout.

    python -m studio --help                                  # every command, one line each
    python -m studio train --method lora --steps 30 --json
    python -m studio evaluate --models original lora-2026... --limit 50 --json

Bad input ends with one line `error: ...` on stderr and exit status 2.
Scores in JSON are fractions (0.42), not percent.

One module per group of commands, each module listing its commands once (a Command: name, help,
arguments, run); the parser and the dispatch below are built from those lists alone.

    data.py          data
    training.py      train (and the other ranks of a torchrun / accelerate launch)
    evaluation.py    evaluate, summarize, score
    runs.py          runs, delete, rename
    hub.py           push, pull
    preparation.py   prepare, prefetch
    bench.py         bench
    experiment.py    experiment
    insight.py       overlap, prompt-tokens, forgetting, weight-change
    command.py       what a command is; the flags the commands share, the Studio they drive, progress lines
    errors.py        which failures are the person's, and the one line said for each
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from studio.cli import bench, data, evaluation, experiment, hub, insight, preparation, runs, training
from studio.cli.command import Command
from studio.cli.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, user_errors, user_message

# The groups in the order `--help` lists their commands.
GROUPS = (data, training, evaluation, runs, hub, preparation, bench, experiment, insight)
REGISTERED: tuple[Command, ...] = tuple(command for group in GROUPS for command in group.COMMANDS)
# What main runs for each command name (a test replaces one entry to play a bug).
COMMANDS = {command.name: command.run for command in REGISTERED}


def program_name() -> str:
    """How the person started the CLI, for usage lines: the console script or `python -m studio`."""
    return "tuning-studio" if Path(sys.argv[0]).name == "tuning-studio" else "python -m studio"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name(), description="Tuning Studio engine")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in REGISTERED:
        command.add_arguments(sub.add_parser(command.name, help=command.help))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from studio import quiet_libraries

    quiet_libraries()
    caught = user_errors()
    stdout = sys.stdout
    try:
        # With --json, stdout holds the one JSON object: whatever a library prints meanwhile (a tracker
        # announcing its run, a Rust or C++ library writing to the file descriptor itself) is talk for the
        # person, and goes to stderr with the studio's own progress.
        with _talk_to_stderr() if getattr(args, "json", False) else contextlib.nullcontext():
            out = COMMANDS[args.command](args)
    except caught as exc:
        # A user's mistake or their machine's refusal (a path, a file, the network, the hub): one line.
        # Anything else is a bug in the studio and keeps its traceback.
        print(f"error: {user_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:   # Ctrl-C before any training began (loading): nothing was saved or changed
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.json and out is not None:  # None: a distributed rank other than 0, which stays silent
        print(json.dumps(out, default=_json_value), file=stdout)
    # A training that Ctrl-C stopped was saved ("stopped") and said so; the exit status says it did not
    # finish, so `train ... && next-step` does not go on as if it had.
    return EXIT_INTERRUPTED if getattr(args, "interrupted", False) else 0


@contextlib.contextmanager
def _talk_to_stderr():
    """Python's stdout and file descriptor 1 both go to stderr for the duration."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _json_value(value):
    """How --json writes what JSON has no form for: a run record as its fields, a path (or else) as text."""
    as_dict = getattr(value, "as_dict", None)
    return as_dict() if callable(as_dict) else str(value)
