"""A real browser drives `python app.py` offline, as a workshop participant would.

Needs Debian's chromium at /usr/bin/chromium. Without it this test FAILS with a
message saying so, unless STUDIO_SKIP_BROWSER=1 is set. Screenshots of every tab
land in test-artifacts/screenshots/ for a human to look at.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app_server import running_app

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
STARTUP_LIMIT = 15.0  # seconds from `python app.py` to a served page, with no network
TINY = dict(steps=3, batch_size=4, train_size=16)
COLUMNS = ("original", "full", "lora", "prompt")


def _need_browser():
    if os.environ.get("STUDIO_SKIP_BROWSER") == "1":
        pytest.skip("STUDIO_SKIP_BROWSER=1: browser test skipped on request")
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it (apt-get install chromium) to run the "
                    "browser test, or set STUDIO_SKIP_BROWSER=1 to skip it deliberately.", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("Playwright is not installed: pip install -r requirements-dev.txt "
                    "(or set STUDIO_SKIP_BROWSER=1).", pytrace=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _need_browser()
    tmp = tmp_path_factory.mktemp("browser")
    env = {"STUDIO_RUNS_DIR": str(tmp / "runs"), "STUDIO_CACHE_DIR": str(tmp / "cache")}
    with running_app(tmp, env, STARTUP_LIMIT) as app:
        yield {**app, "tmp": tmp}


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(server["url"])
        yield page
        browser.close()


def _prepare_other_runs(server):
    """Full and prompt-tuning runs made by the engine, as `python -m studio prepare` would leave them."""
    from studio.config import Settings, TrainConfig
    from studio.engine import Studio

    tmp = server["tmp"]
    studio = Studio(Settings(offline=True, runs_dir=tmp / "runs", cache_dir=tmp / "cache", data="bundled"))
    for method in ("full", "prompt"):
        job = studio.submit_training(method, TrainConfig(**TINY), owner="presenter")
        studio.jobs.wait(job.job_id, timeout=120)
        assert job.status == "completed", job.error


def _open(page, name):
    from playwright.sync_api import expect

    page.get_by_role("tab", name=name, exact=True).click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute("aria-selected", "true")


def _shoot(page, name):
    for close in page.locator(".toast-close").all():  # toasts would cover the charts
        close.click()
    page.wait_for_timeout(600)  # let Plotly finish drawing
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_page_serves_quickly_offline(server):
    assert server["startup"] <= STARTUP_LIMIT


def test_a_participant_uses_every_tab(server, page):
    from playwright.sync_api import expect

    expect(page.get_by_text("Offline: using a tiny stand-in")).to_be_visible()
    for name in ("Dataset", "Train", "Compare", "Evaluate", "Runs"):
        expect(page.get_by_role("tab", name=name, exact=True)).to_be_visible()

    # Dataset: examples and both charts.
    _open(page, "Dataset")
    expect(page.get_by_text("Page 1 of")).to_be_visible()
    expect(page.get_by_role("button", name="Send to Compare").first).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(2)
    _shoot(page, "dataset")

    # Train: a bad learning rate is refused with a message, then LoRA trains for 5 steps.
    _open(page, "Train")
    page.get_by_role("radio", name="LoRA").check()
    page.get_by_role("textbox", name="Learning rate").fill("fast")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("The learning rate must be a number")).to_be_visible()
    page.get_by_role("textbox", name="Learning rate").fill("")
    page.get_by_role("spinbutton", name="Steps", exact=True).fill("5")
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#job-status")).to_contain_text("Finished", timeout=120_000)
    expect(page.locator("#job-progress")).to_contain_text("Step 5 of 5")
    expect(page.get_by_text("Trainable parameters:")).to_be_visible()
    plot = page.locator("#loss-plot")
    expect(plot.locator(".scatterlayer .trace").first).to_be_visible()
    expect(plot).to_contain_text("(this run)")
    _shoot(page, "train")

    _prepare_other_runs(server)

    # Compare: paste a dialogue, four summaries.
    _open(page, "Compare")
    page.get_by_role("textbox", name="Dialogue", exact=True).fill(
        "Anna: Are we still meeting at noon?\nBen: Yes, at the cafe by the station.\nAnna: Great, see you there.")
    for method in ("Full fine-tuning", "LoRA", "Prompt tuning"):  # the runs made above are listed now
        expect(page.get_by_label(f"{method} run")).not_to_have_value("none yet: train one first")
    page.get_by_role("button", name="Summarize").click()
    for key in COLUMNS:
        expect(page.locator(f"#summary-{key} textarea")).not_to_have_value("", timeout=60_000)
        expect(page.locator(f"#info-{key}")).to_contain_text(" s")
    _shoot(page, "compare")

    # Dataset -> Compare: the reference comes along and each summary gets its ROUGE-L.
    _open(page, "Dataset")
    page.get_by_role("button", name="Send to Compare").first.click()
    expect(page.get_by_role("tab", name="Compare", exact=True)).to_have_attribute("aria-selected", "true")
    expect(page.locator("#compare-reference textarea")).not_to_have_value("")
    page.get_by_role("button", name="Summarize").click()
    for key in COLUMNS:
        expect(page.locator(f"#info-{key}")).to_contain_text("ROUGE-L", timeout=60_000)
    _shoot(page, "compare-from-dataset")

    # Evaluate: Original and the new LoRA run on 4 dialogues.
    _open(page, "Evaluate")
    lora_box = page.get_by_role("checkbox", name="LoRA:", exact=False).first
    lora_box.check()
    expect(page.get_by_role("checkbox", name="Original")).to_be_checked()
    page.get_by_label("number input for Test dialogues").fill("4")
    page.get_by_label("number input for Test dialogues").press("Enter")
    page.get_by_role("button", name="Run evaluation").click()
    chart = page.locator("#rouge-plot")
    expect(chart).to_contain_text("ROUGE F1 with 95% bootstrap intervals", timeout=120_000)
    expect(chart.locator(".barlayer .trace")).not_to_have_count(0)
    expect(page.get_by_text("Scored 4 test dialogues", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Download all outputs (CSV)")).to_be_visible()
    _shoot(page, "evaluate")

    # Runs: the new LoRA run is listed with its 5 steps.
    _open(page, "Runs")
    table = page.locator("#runs-table")
    expect(table).to_contain_text("LoRA")
    # Gradio's Dataframe draws body rows as role="row" divs (a hidden <table> only sizes the columns).
    lora_row = table.locator("div[role=row]", has_text="lora-").filter(has_text="completed")
    expect(lora_row).to_have_count(1)
    expect(lora_row.get_by_role("gridcell").nth(3)).to_have_text("5")  # Steps
    expect(table).to_contain_text("Full fine-tuning")
    _shoot(page, "runs")

    assert "Traceback" not in page.content()


def test_a_reload_reattaches_to_the_running_training_and_stop_works(server, page):
    from playwright.sync_api import expect

    _open(page, "Train")
    page.get_by_role("radio", name="Prompt tuning").check()
    page.get_by_role("spinbutton", name="Steps", exact=True).fill("2000")
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#job-progress")).to_contain_text("Step", timeout=60_000)
    page.reload()  # the browser keeps this session's token, so the page picks the job up again
    _open(page, "Train")
    expect(page.locator("#job-status")).to_contain_text("Prompt tuning is training", timeout=30_000)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#job-status")).to_contain_text("Stopped", timeout=60_000)
    _open(page, "Runs")
    expect(page.locator("#runs-table")).to_contain_text("stopped")
