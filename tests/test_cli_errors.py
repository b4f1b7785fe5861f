"""Every failure a user causes ends the CLI with one `error: ...` line and exit 2, never a traceback.

The cases are the ones a hostile session found: unreadable or impossible paths, names too long for the
file system, files nested too deep to parse, a hub repo that cannot be reached offline, corrupt weights.
"""
import json
import shutil

import pytest

LONG = "x" * 5000   # longer than any file name a file system takes (ENAMETOOLONG)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def assert_one_error_line(code, out, err, *words):
    assert code == 2, f"exit {code}; stderr: {err[-2000:]}"
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), err[-2000:]
    assert "Traceback" not in err and len(lines[-1]) < 2000   # one readable line, not a dump
    for word in words:
        assert word.lower() in lines[-1].lower(), lines[-1]


@pytest.fixture
def copied_run(trained, tmp_path):
    """A copy of the session's LoRA run in this test's own run store (the test may break it)."""
    studio, run_ids = trained
    runs = tmp_path / "runs"
    runs.mkdir(exist_ok=True)
    shutil.copytree(studio.store.root / run_ids["lora"], runs / run_ids["lora"])
    return runs, run_ids["lora"]


@pytest.mark.parametrize("path", ["/etc/passwd/x", f"/tmp/{LONG}", "/proc/self/mem"])
def test_summarize_file_that_cannot_be_read(run_cli, path):
    assert_one_error_line(*run_cli("summarize", "--model", "original", "--file", path), "cannot")


@pytest.mark.parametrize("path", ["/etc/passwd/x", f"/tmp/{LONG}"])
def test_score_predictions_that_cannot_be_read(run_cli, tmp_path, path):
    (tmp_path / "refs.txt").write_text("a reference\n")
    assert_one_error_line(*run_cli("score", "--predictions", path, "--references", str(tmp_path / "refs.txt")))


def test_runs_dir_with_a_name_too_long(run_cli, tmp_path):
    assert_one_error_line(*run_cli("runs", "--runs-dir", str(tmp_path / LONG)), "too long")


@pytest.mark.parametrize("out", ["existing-file", LONG])
def test_push_out_onto_a_file_or_a_name_too_long(run_cli, copied_run, tmp_path, out):
    runs, run_id = copied_run
    (tmp_path / "existing-file").write_text("keep me")
    code, stdout, err = run_cli("push", run_id, "--repo", "me/x", "--dry-run", "--out", str(tmp_path / out),
                                "--runs-dir", str(runs))
    assert_one_error_line(code, stdout, err)
    assert (tmp_path / "existing-file").read_text() == "keep me"


def test_push_dry_run_of_a_run_whose_hyperparameters_nest_deep(run_cli, copied_run, tmp_path):
    runs, run_id = copied_run
    record_path = runs / run_id / "run.json"
    text = record_path.read_text()
    record = json.loads(text)
    record["hyperparameters"] = {"deep": "@DEEP@"}
    record_path.write_text(json.dumps(record).replace('"@DEEP@"', nested(700)))
    assert_one_error_line(*run_cli("push", run_id, "--repo", "me/x", "--dry-run", "--out", str(tmp_path / "up"),
                                   "--runs-dir", str(runs)))


def test_pull_from_the_hub_offline(run_cli):
    assert_one_error_line(*run_cli("pull", "someone/nothing"))


def test_pull_of_a_nested_run_json(run_cli, copied_run, tmp_path):
    runs, run_id = copied_run
    folder = tmp_path / "import-me"
    shutil.copytree(runs / run_id, folder)
    (folder / "run.json").write_text(nested(100_000))
    assert_one_error_line(*run_cli("pull", str(folder), "--runs-dir", str(tmp_path / "other-runs")))


def test_pull_of_a_path_too_long(run_cli, tmp_path):
    assert_one_error_line(*run_cli("pull", str(tmp_path / LONG)))


@pytest.mark.parametrize("name", ["nested.json", "nested.jsonl"])
def test_data_file_nested_too_deep(run_cli, tmp_path, name):
    (tmp_path / name).write_text(nested(100_000) + "\n")
    assert_one_error_line(*run_cli("data", "--data", str(tmp_path / name)))


def test_summarize_with_a_run_whose_weights_are_corrupt(run_cli, copied_run, monkeypatch):
    runs, run_id = copied_run
    weights = runs / run_id / "model" / "adapter_model.safetensors"
    weights.write_bytes(b"\x07" * 64)
    monkeypatch.setenv("STUDIO_RUNS_DIR", str(runs))
    assert_one_error_line(*run_cli("summarize", "--model", run_id, "--text", "Anna: Hi Ben.\nBen: Hi Anna."),
                          run_id)


def test_a_bug_still_shows_its_traceback(run_cli, monkeypatch):
    """Only user errors become one line: a programming error must stay visible to whoever fixes it."""
    from studio import cli

    def broken(args):
        raise AttributeError("a bug")
    monkeypatch.setitem(cli.COMMANDS, "runs", broken)
    with pytest.raises(AttributeError):
        run_cli("runs")
