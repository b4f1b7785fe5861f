"""studio/cli/command.py: every command registered once, the flags the commands share, where progress goes."""
import argparse
from pathlib import Path
from types import SimpleNamespace

from studio import cli
from studio.cli.command import Command, add_common, say, settings_from

# Every command other tools may call: none may go missing or change its name.
NAMES = ["data", "train", "evaluate", "summarize", "score", "runs", "delete", "rename", "push", "pull", "prepare",
         "prefetch", "bench", "experiment", "overlap", "prompt-tokens", "forgetting", "weight-change"]


def test_each_command_is_registered_once_and_the_parser_offers_exactly_those():
    assert all(isinstance(command, Command) for command in cli.REGISTERED)
    assert [command.name for command in cli.REGISTERED] == NAMES   # in the order --help lists them
    commands = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(commands.choices) == NAMES and list(cli.COMMANDS) == NAMES
    assert all(cli.COMMANDS[command.name] is command.run for command in cli.REGISTERED)


def test_the_common_flags_make_the_settings_and_only_model_commands_take_a_base_model(tmp_path):
    parser = argparse.ArgumentParser()
    add_common(parser)
    args = parser.parse_args(["--json", "--data", "bundled", "--runs-dir", str(tmp_path), "--base-model",
                              "some/model", "--offline"])
    settings = settings_from(args)
    assert args.json and settings.data == "bundled" and Path(settings.runs_dir) == tmp_path
    assert settings.base_model == "some/model" and settings.offline is True
    no_model = argparse.ArgumentParser()
    add_common(no_model, model=False)
    assert {"base_model", "offline"}.isdisjoint(vars(no_model.parse_args([])))


def test_progress_goes_to_stderr_when_stdout_holds_the_json(capsys):
    say(SimpleNamespace(json=True), "training ...")
    say(SimpleNamespace(json=False), "kept")
    out = capsys.readouterr()
    assert (out.out, out.err) == ("kept\n", "training ...\n")
