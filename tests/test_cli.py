"""`python -m studio` as a whole (studio/cli/__init__.py): the parser built from every command, usage,
help, and one error line for bad input, whichever command met it. In this process: see conftest's
run_cli and cli; each command group has its own test_cli_<group>.py.

The true subprocess runs (`python -m studio` itself, a killed training) are in test_main.py and
test_reliability.py.
"""
import pytest


@pytest.mark.parametrize("args, message", [
    (("train", "--method", "lora", "--steps", "0"), "steps"),
    (("train", "--method", "lora", "--steps", "5", "--batch-size", "-2"), "batch size"),
    (("train", "--method", "prompt", "--lr", "nan", "--steps", "3"), "Learning rate"),
    (("summarize", "--model", "../../etc", "--text", "hi"), "not a valid run id"),
    (("summarize", "--model", "lora-missing", "--text", "hi"), "No run"),
    (("summarize", "--model", "original", "--text", "   "), "empty"),
    (("evaluate", "--models", "original", "--limit", "0"), "number of dialogues"),
    (("score", "--predictions", "/nonexistent.txt", "--references", "/nonexistent.txt"), "no such file"),
    (("data", "--data", "./missing.csv"), "No data file"),
])
def test_bad_input_gives_one_line_error_and_exit_2(cli, args, message):
    proc = cli(*args, ok=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message.lower() in proc.stderr.lower()
    assert "Traceback" not in proc.stderr


def test_explicit_uncached_base_model_is_an_error(cli):
    proc = cli("train", "--method", "lora", "--steps", "1", "--base-model", "google/flan-t5-large", ok=False)
    assert proc.returncode == 2 and "not in the local cache" in proc.stderr


@pytest.mark.parametrize("started_as, usage", [("/home/me/.venv/bin/tuning-studio", "usage: tuning-studio "),
                                               ("/home/me/studio/__main__.py", "usage: python -m studio ")])
def test_usage_names_the_command_the_person_typed(cli, monkeypatch, started_as, usage):
    monkeypatch.setattr("sys.argv", [started_as])
    proc = cli("--help")
    assert proc.stdout.startswith(usage)


def test_every_option_of_every_command_says_what_it_is():
    """`tuning-studio COMMAND --help` explains each argument: none is listed bare."""
    import argparse

    from studio.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    bare = [f"{name} {action.dest}" for name, parser in commands.choices.items() for action in parser._actions
            if not action.help and not isinstance(action, argparse._HelpAction)]
    assert bare == []
