"""Shared fixtures: everything offline, tiny models built here, runs in temporary folders."""
import json
import os
from types import SimpleNamespace
from typing import NamedTuple

# Before any Hugging Face import: the tests never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# One torch thread in every process the tests start (workers, app servers, CLI runs inherit it). Two
# workers, app servers and Chromium already share this machine's two cores, and the tiny models'
# operations are too small to split: a second thread per process only adds synchronisation. Set
# before torch loads (OpenMP reads it then). Measured side by side: the suite's CPU fell from about
# 410 to 365 core-seconds, the app servers' from 104 to 63 (docs/benchmark.md, "third session").
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

from studio import quiet_libraries
from tests.form_runs import trained_through_the_form
from tests.studios import offline_settings, offline_studio

quiet_libraries()


# The files that take longest, longest first (docs/benchmark.md, "The test suite"). scripts/test.sh hands
# whole files to two workers in collection order (--no-loadscope-reorder): starting the long ones
# first keeps one worker from finishing a browser file alone at the end while the other sits idle.
LONGEST_FILES_FIRST = ("test_browser.py", "test_browser_workshop.py", "test_browser_insight.py",
                       "test_multiuser_api.py", "test_reliability.py", "test_fair_share_api.py",
                       "test_store_reliability.py", "test_inference.py", "test_distributed.py",
                       "test_memory.py", "test_cli_training.py", "test_cli_preparation.py",
                       "test_experiment.py")


def pytest_collection_modifyitems(items):
    """Long files first (see above); every test in a test_browser*.py file drives a real browser, so it
    carries the `browser` marker (and `slow`: each starts the app)."""
    rank = {name: place for place, name in enumerate(LONGEST_FILES_FIRST)}
    # A stable sort: tests keep their order inside a file, the other files their collection order.
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    for item in items:
        if item.path.name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session):
    """Freeze what collecting imported (torch, transformers, gradio, every test module: ~520,000 objects),
    as the app does at its start: the Trainer forces a full collection in each of the suite's hundreds
    of trainings, and each walked all of them (measured: 79 full collections took 38 s of a 147 s run of
    tests/ui and two training files; 19 s with this). Nothing a test builds is frozen: no model exists yet."""
    from studio import freeze_startup_objects

    freeze_startup_objects()


TINY_TRAIN = {"batch_size": 4, "train_size": 24}
TRAINED_STEPS = 12        # enough for the three methods' summaries to differ from the original's and each other's
TRAINED_OWNER = "alice"   # the session token that started the `trained` runs


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """One stand-in model for the whole session (it takes a couple of seconds to build)."""
    path = tmp_path_factory.mktemp("cache")
    from studio.model.standin import STANDIN_NAME, build_standin

    build_standin(path / STANDIN_NAME)
    return path


@pytest.fixture
def settings(tmp_path, cache_dir):
    return offline_settings(tmp_path / "runs", cache_dir)


@pytest.fixture
def studio(settings):
    from studio.service.engine import Studio

    return Studio(settings)


class TrainedStudio(NamedTuple):
    studio: object            # a studio.service.engine.Studio
    runs: dict[str, str]      # method -> run id


@pytest.fixture(scope="session")
def trained(tmp_path_factory, cache_dir) -> TrainedStudio:
    """A studio with one finished run of each method, started through the Train tab's handler by
    TRAINED_OWNER, as a person would (trained once per test process; read only: tests that change
    runs make their own). `studio, runs = trained` or `trained.studio`, `trained.runs`."""
    from studio.model.methods import registry
    from studio.ui.handlers import train as ht

    studio = offline_studio(tmp_path_factory.mktemp("trained") / "runs", cache_dir)
    runs = {method: trained_through_the_form(studio, TRAINED_OWNER,
                                              ht.TrainForm(method=method, steps=TRAINED_STEPS, **TINY_TRAIN))
            for method in registry.NAMES}
    return TrainedStudio(studio, runs)


class CliRun:
    """`python -m studio ARGS` run in this process, its output taken from capsys (see the run_cli fixture)."""

    def __init__(self, capsys):
        self.capsys = capsys

    def __call__(self, *argv) -> tuple[int, str, str]:
        """(exit code, stdout, stderr); argparse's own refusals (SystemExit) become exit codes too."""
        from studio import cli

        self.capsys.readouterr()  # what came before is not this command's output
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def json(self, *argv) -> tuple[int, object, str]:
        """(exit code, stdout read as JSON, or None when the command failed, stderr), for `--json` commands."""
        code, out, err = self(*argv)
        return code, json.loads(out) if code == 0 else None, err


@pytest.fixture
def run_cli(monkeypatch, tmp_path, cache_dir, capsys) -> CliRun:
    """The CLI as a user's shell would run it: offline, runs under tmp_path (a --runs-dir flag still wins),
    the session's stand-in model and the bundled dialogues, no base model named and no Hub token.

        code, out, err = run_cli("runs")             # out: the printed text
        code, listing, err = run_cli.json("runs", "--json")
    """
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("STUDIO_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("STUDIO_DATA", "bundled")
    for name in ("STUDIO_BASE_MODEL", "STUDIO_ALLOWED_MODELS", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return CliRun(capsys)


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
    """The one JSON object a `cli(..., "--json")` run printed."""
    return json.loads(proc.stdout)
