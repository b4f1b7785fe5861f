"""`python -m studio` end to end, offline, as a user would run it (in this process: see conftest's run_cli).

The true subprocess runs (`python -m studio` itself, a killed training) are in test_main.py and
test_reliability.py.
"""
import json
from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture
def cli(run_cli):
    """Runs the CLI like `subprocess.run` would, handing back returncode, stdout and stderr."""
    def run(*args, ok=True):
        code, out, err = run_cli(*args)
        proc = SimpleNamespace(returncode=code, stdout=out, stderr=err)
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def as_json(proc):
    return json.loads(proc.stdout)


def test_data_reports_examples_and_references(cli):
    out = as_json(cli("data", "--json"))
    assert out["splits"]["test"] == {"examples": 16, "references": 37}
    assert out["splits"]["train"]["examples"] == out["splits"]["train"]["references"] == 48


@pytest.mark.slow  # three trainings and an evaluation
def test_train_all_methods_then_evaluate_summarize_and_list(cli):
    run_ids = {}
    for method in ("full", "lora", "prompt"):
        out = as_json(cli("train", "--method", method, "--steps", "4", "--batch-size", "4", "--train-size", "16",
                          "--seed", "3", "--json"))
        assert out["status"] == "completed" and out["method"] == method
        assert 0 < out["trainable_params"] <= out["total_params"] and out["final_loss"] > 0
        assert Path(out["run_dir"], "model").is_dir()
        run_ids[method] = out["run_id"]
    assert run_ids["full"] != run_ids["lora"]

    evaluation = as_json(cli("evaluate", "--models", "original", *run_ids.values(), "--limit", "4",
                             "--max-new-tokens", "8", "--json"))
    assert evaluation["examples"] == 4 and evaluation["seconds"] > 0 and evaluation["examples_per_second"] > 0
    assert set(evaluation["models"]) == {"original", *run_ids.values()}
    assert {p["metric"] for p in evaluation["paired"]} == {"rouge1", "rouge2", "rougeL", "bleu"}
    for scores in evaluation["models"].values():
        for metric in ("rouge1", "rouge2", "rougeL", "rougeLsum", "bleu"):
            assert 0 <= scores[metric]["low"] <= scores[metric]["mean"] <= scores[metric]["high"] <= 1

    summary = as_json(cli("summarize", "--model", run_ids["lora"], "--text", "Anna: Hi Ben!\nBen: Hi Anna.",
                          "--max-new-tokens", "8", "--json"))
    assert summary["model"] == run_ids["lora"] and isinstance(summary["summary"], str)

    runs = as_json(cli("runs", "--json"))["runs"]
    listed = {r["run_id"]: r for r in runs}
    assert set(listed) == set(run_ids.values())
    assert all(r["status"] == "completed" and "metrics" in r for r in listed.values())


def test_score_matches_reference_files(cli, tmp_path):
    (tmp_path / "p.txt").write_text("the cat sat\nhello world\n")
    (tmp_path / "r1.txt").write_text("the cat sat\ngoodbye\n")
    (tmp_path / "r2.txt").write_text("a dog\nhello world\n")
    out = as_json(cli("score", "--predictions", str(tmp_path / "p.txt"), "--references", str(tmp_path / "r1.txt"),
                      str(tmp_path / "r2.txt"), "--json"))
    assert out["n"] == 2 and out["rouge1"] == 1.0 and out["intervals"]["rouge1"] == [1.0, 1.0]
    single = as_json(cli("score", "--predictions", str(tmp_path / "p.txt"), "--references",
                         str(tmp_path / "r1.txt"), "--json"))
    assert single["rouge1"] == pytest.approx(0.5)


def test_score_reports_sacrebleu_corpus_bleu_beside_rouge(cli, tmp_path):
    import sacrebleu

    predictions = ["Tom is buying a red bike for his daughter .", "They agree to meet at the library at 3 pm .",
                   "The doctor tells Anna to rest for a week ."]
    first = ["Tom buys his daughter a red bike .", "They will meet at the library at three .",
             "The doctor tells Anna to rest ."]
    second = ["Tom is buying a bicycle for his daughter 's birthday .", "They meet in the library at 3 pm .",
              "Anna should stay home for a week ."]
    for name, lines in (("p", predictions), ("r1", first), ("r2", second)):
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n")
    out = as_json(cli("score", "--predictions", str(tmp_path / "p.txt"), "--references", str(tmp_path / "r1.txt"),
                      str(tmp_path / "r2.txt"), "--json"))
    expected = sacrebleu.corpus_bleu(predictions, [first, second]).score / 100
    assert out["bleu"] == pytest.approx(expected, abs=1e-12) and 0 < out["bleu"] < 1   # a fraction, like ROUGE
    low, high = out["intervals"]["bleu"]
    assert 0 <= low <= out["bleu"] <= high <= 1
    assert {"rouge1", "rouge2", "rougeL", "rougeLsum"} <= set(out)   # the ROUGE keys stay
    text = cli("score", "--predictions", str(tmp_path / "p.txt"), "--references", str(tmp_path / "r1.txt")).stdout
    assert any(line.startswith("bleu") for line in text.splitlines())


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


@pytest.mark.slow  # three trainings
def test_prepare_trains_each_method_once_and_keeps_them(cli):
    first = as_json(cli("prepare", "--steps", "2", "--json"))["runs"]
    assert set(first) == {"full", "lora", "prompt"}
    assert all(run["status"] == "completed" for run in first.values())
    again = as_json(cli("prepare", "--steps", "2", "--json"))["runs"]
    assert {m: r["run_id"] for m, r in again.items()} == {m: r["run_id"] for m, r in first.items()}
    assert all(run["status"] == "kept" for run in again.values())


def test_prefetch_offline_says_it_needs_the_network(cli):
    proc = cli("prefetch", ok=False)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: prefetch needs the network")


def test_prefetch_online_caches_the_configured_model_and_dataset(monkeypatch, capsys):
    """With a network, prefetch loads (and so caches) exactly what the studio will use later."""
    from studio import cli
    from studio.data import dialogsum as data
    from studio.model import base_model, network

    loaded = []
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(network, "is_offline", lambda settings: False)
    monkeypatch.setattr(base_model, "load_base", lambda path, **kw: loaded.append(("model", path)))
    monkeypatch.setattr(data, "load_data", lambda source: loaded.append(("data", source)) or data.load_bundled())
    code = cli.main(["prefetch", "--base-model", "google/flan-t5-small", "--data", "knkarthick/dialogsum",
                     "--json"])
    assert code == 0
    assert loaded == [("model", "google/flan-t5-small"), ("data", "knkarthick/dialogsum")]
    assert json.loads(capsys.readouterr().out)["base_model"] == "google/flan-t5-small"


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
