"""Fixtures of the UI tests: the handlers run against a real Studio on the tiny offline model."""
from __future__ import annotations

import pytest

from tests.form_runs import trained_through_the_form
from tests.studios import offline_studio

TINY = {"steps": 3, "batch_size": 4, "train_size": 16}


@pytest.fixture(scope="session")
def two_people(tmp_path_factory, cache_dir):
    """One studio with alice's LoRA run, then bob's newer one (trained once, read only): whose run is whose.

    Apart from `trained` (one owner, every method): these two people's runs are what the tests read."""
    from studio.ui.handlers import train as ht

    studio = offline_studio(tmp_path_factory.mktemp("two-people") / "runs", cache_dir)
    runs = {owner: trained_through_the_form(studio, owner, ht.TrainForm(method="lora", **TINY), timeout=300)
            for owner in ("alice", "bob")}   # in this order: bob's run is the newer
    return studio, runs
