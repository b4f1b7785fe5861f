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


def test_with_json_stdout_holds_the_object_alone_whatever_writes_to_it(capfd, monkeypatch):
    """The stand-in's tokenizer trainer (Rust) once wrote two blank lines to file descriptor 1 before the JSON."""
    import os

    from studio import cli

    def noisy(args):
        os.write(1, b"\n\nfrom a library, straight to the descriptor\n")
        print("from Python")
        return {"ok": True}
    monkeypatch.setitem(cli.COMMANDS, "runs", noisy)
    assert cli.main(["runs", "--json"]) == 0
    out, err = capfd.readouterr()
    assert out == '{"ok": true}\n'
    assert "straight to the descriptor" in err and "from Python" in err


def test_ctrl_c_is_one_line_and_exit_130(capfd, monkeypatch):
    from studio import cli

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setitem(cli.COMMANDS, "runs", interrupted)
    assert cli.main(["runs", "--json"]) == 130
    out, err = capfd.readouterr()
    assert out == "" and err == "interrupted\n"


def test_an_empty_path_flag_is_refused_not_read_as_the_current_folder(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (("runs", "--runs-dir", ""), ("summarize", "--model", "original", "--text", "Hi", "--base-model", " ")):
        code, out, err = run_cli(*argv)
        assert code == 2 and err.startswith("error: --") and "is empty" in err, err
    assert list(tmp_path.iterdir()) == []     # nothing written where the command was run
