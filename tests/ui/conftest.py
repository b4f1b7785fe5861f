"""Fixtures of the UI tests: the handlers run against a real Studio on the tiny offline model."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from studio.config.settings import Settings
from studio.model.methods import registry
from studio.service.engine import Studio
from tests.form_runs import trained_through_the_form

TINY = {"steps": 3, "batch_size": 4, "train_size": 16}


@pytest.fixture(scope="session")
def ui_trained(tmp_path_factory, cache_dir):
    """One studio with a 3-step run of each method, all owned by the token "alice" (trained once, read only).

    Started through the Train tab's handler, as a person would; tests that change runs make their own.
    """
    from studio.ui import handlers as h

    studio = Studio(Settings(offline=True, runs_dir=tmp_path_factory.mktemp("ui-trained") / "runs",
                             cache_dir=cache_dir, data="bundled"))
    runs = {method: trained_through_the_form(studio, "alice", h.TrainForm(method=method, **TINY))
            for method in registry.NAMES}
    return SimpleNamespace(studio=studio, runs=runs)


@pytest.fixture(scope="session")
def two_people(tmp_path_factory, cache_dir):
    """One studio with alice's LoRA run, then bob's newer one (trained once, read only): whose run is whose."""
    from studio.ui import handlers as h

    studio = Studio(Settings(offline=True, runs_dir=tmp_path_factory.mktemp("two-people") / "runs",
                             cache_dir=cache_dir, data="bundled"))
    runs = {owner: trained_through_the_form(studio, owner, h.TrainForm(method="lora", **TINY), timeout=300)
            for owner in ("alice", "bob")}   # in this order: bob's run is the newer
    return studio, runs
