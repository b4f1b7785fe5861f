"""A real browser runs "Train all three" with a tiny budget and reads the result, as a workshop would.

Reuses test_browser.py's server and page (chromium at /usr/bin/chromium, the app offline).
Every wait is for a condition on the page, generous enough for a busy machine.
"""
from __future__ import annotations

import pytest

from tests.app_server import app_in_folder
from tests.test_browser import _need_browser, _open, _shoot, page  # noqa: F401 - fixtures are used by name

TRAINING_WAIT_MS = 600_000   # three tiny trainings and four models on two dialogues, on a shared CPU


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_browser()
    with app_in_folder(tmp_path_factory.mktemp("browser-experiment")) as app:
        yield app


def test_train_all_three_lands_on_rouge_and_pairwise_sentences(server, page):  # noqa: F811 - page: the fixture
    from playwright.sync_api import expect

    _open(page, "Train")
    page.get_by_text("Train all three: a fair experiment").click()
    section = page.locator("#experiment")
    section.get_by_role("spinbutton", name="Steps, each method").fill("2")
    section.get_by_role("spinbutton", name="Batch size, each method").fill("4")
    section.get_by_role("spinbutton", name="Training pairs, shared").fill("16")
    section.get_by_role("spinbutton", name="Test dialogues").fill("2")
    section.get_by_role("button", name="Train all three", exact=True).click()

    methods = page.locator("#experiment-methods")
    for label in ("Full fine-tuning", "LoRA", "Prompt tuning"):  # one line per method while it runs
        expect(methods).to_contain_text(label, timeout=60_000)
    expect(page.locator("#experiment-status")).to_contain_text("Experiment finished", timeout=TRAINING_WAIT_MS)
    expect(page.locator("#experiment-status")).to_contain_text("2 steps × batch 4 from 16 pairs")
    sentences = page.locator("#experiment-sentences")
    expect(sentences).to_contain_text("95% paired-bootstrap interval")
    expect(sentences.locator("li")).to_have_count(6 * 3)  # every pair of four models, three metrics
    expect(sentences).to_contain_text("LoRA")
    expect(page.locator("#experiment-rouge .js-plotly-plot")).to_be_visible()
    expect(page.locator("#experiment-loss")).to_contain_text("Prompt tuning")
    _shoot(page, "train-all-three")

    _open(page, "Runs")
    table = page.locator("#runs-table")
    expect(table).to_contain_text("2 steps × batch 4, 16 pairs", timeout=30_000)  # the budget, once
    expect(table.get_by_text("↳ same experiment")).to_have_count(2)
