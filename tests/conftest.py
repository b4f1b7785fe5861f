"""Shared fixtures: everything offline, tiny models built here, runs in temporary folders."""
import os

# Before any Hugging Face import: the tests never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import pytest  # noqa: E402

from studio import quiet_libraries  # noqa: E402
from studio.config import Settings, TrainConfig  # noqa: E402

quiet_libraries()

TINY_TRAIN = dict(batch_size=4, train_size=24)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """One stand-in model for the whole session (it takes a couple of seconds to build)."""
    path = tmp_path_factory.mktemp("cache")
    from studio.standin import STANDIN_NAME, build_standin

    build_standin(path / STANDIN_NAME)
    return path


@pytest.fixture
def settings(tmp_path, cache_dir):
    return Settings.from_env(env={}, offline=True, data="bundled", runs_dir=tmp_path / "runs",
                             cache_dir=cache_dir)


@pytest.fixture
def studio(settings):
    from studio.engine import Studio

    return Studio(settings)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, cache_dir):
    """A studio with one finished run of each method (trained once per test session)."""
    from studio.engine import Studio

    settings = Settings.from_env(env={}, offline=True, data="bundled",
                                 runs_dir=tmp_path_factory.mktemp("trained") / "runs", cache_dir=cache_dir)
    studio = Studio(settings)
    run_ids = {}
    for method in ("full", "lora", "prompt"):
        job = studio.submit_training(method, TrainConfig(steps=12, **TINY_TRAIN), owner="tests")
        studio.jobs.wait(job.job_id, timeout=300)
        assert job.status == "completed", job.error
        run_ids[method] = job.run_id
    return studio, run_ids
