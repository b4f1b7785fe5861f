"""A workshop in a real browser: a room of participants (two browser profiles), a presenter, a phone.

Reuses test_browser's helpers; waits on conditions, never on the clock. Screenshots land in
test-artifacts/screenshots/workshop-*.png for a person to look at.
"""
from __future__ import annotations

import re

import pytest

from tests.app_server import app_in_folder
from tests.scenarios.test_browser import CHROMIUM, SHOTS, _need_browser, _open

STEP_TIMEOUT = 300_000  # only a hang should reach it: tests run beside another worker (scripts/test.sh)
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, cache_dir):
    _need_browser()
    with app_in_folder(tmp_path_factory.mktemp("workshop"), cache_dir=cache_dir) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT)  # a busy machine is slow, not broken: wait for conditions
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _person(browser, server, width=1280, height=720, query=""):
    """A participant: their own browser profile (own saved token), the app open."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT)
    page.goto(server["url"] + query)
    page.get_by_role("tab", name="Train", exact=True).wait_for()
    return context, page


def _shoot(page, name, full_page=False):
    page.wait_for_timeout(500)  # let Plotly settle; not a condition anything depends on
    page.screenshot(path=str(SHOTS / f"workshop-{name}.png"), full_page=full_page)


def _train(page, method, steps):
    _open(page, "Train")
    page.get_by_role("radio", name=method).check()
    page.get_by_role("spinbutton", name="Steps", exact=True).fill(str(steps))
    page.get_by_role("button", name="Start training").click()


def test_a_room_of_participants(server, browser):
    from playwright.sync_api import expect

    anna_context, anna = _person(browser, server)
    ben_context, ben = _person(browser, server)

    # 1. At 1280x720, after Start (at the bottom of the form), the status is where Anna is looking.
    _open(anna, "Train")
    expect(anna.locator("#train-budget")).to_contain_text("Start will train")
    _train(anna, "LoRA", 3)
    expect(anna.locator("#job-status")).to_be_in_viewport()
    expect(anna.locator("#job-status")).to_contain_text("Finished", timeout=STEP_TIMEOUT)
    expect(anna.locator("#job-status")).to_be_in_viewport()
    _shoot(anna, "train-after-start-1280x720")

    # 2. Ben's page opened before the run finished; a new page shows it in the earlier-runs chart.
    late_context, late = _person(browser, server)
    _open(late, "Train")
    expect(late.locator("#loss-plot")).to_contain_text("LoRA: ", timeout=STEP_TIMEOUT)   # Anna's run, the only one

    # 3. Anna starts a long training: Ben sees it in the queue, anonymous; Anna sees it is hers.
    _train(anna, "Prompt tuning", 3000)
    expect(anna.locator("#queue-board")).to_contain_text("Prompt tuning (yours)", timeout=STEP_TIMEOUT)
    expect(ben.locator("#queue-board")).to_contain_text("Training now:** Prompt tuning".replace("**", ""),
                                                        timeout=STEP_TIMEOUT)
    expect(ben.locator("#queue-board")).not_to_contain_text("yours")
    _shoot(ben, "queue-seen-by-another-participant")
    anna.get_by_role("button", name="Stop").click()
    expect(anna.locator("#job-status")).to_contain_text("Stopped", timeout=STEP_TIMEOUT)

    # "yours" marks differ between the two people, for the same runs.
    _open(anna, "Runs")
    _open(ben, "Runs")
    expect(anna.locator("#runs-table")).to_contain_text("· yours", timeout=STEP_TIMEOUT)
    expect(ben.locator("#runs-table")).to_contain_text("lora-")
    expect(ben.locator("#runs-table")).not_to_contain_text("· yours")

    # 8. Ben ticks "I'm sure" and tries to delete Anna's run: refused, and the tick is gone.
    sure = ben.locator("#runs-sure input[type=checkbox]")
    ben.locator("#runs-picked input").click()
    ben.get_by_role("option").first.click()
    sure.check()
    ben.get_by_role("button", name="Delete run").click()
    expect(ben.get_by_text("Only the session that trained this run can delete it")).to_be_visible()
    expect(sure).not_to_be_checked()
    # ... and choosing another run unticks it too.
    sure.check()
    ben.locator("#runs-picked input").click()
    ben.get_by_role("option").nth(1).click()
    expect(sure).not_to_be_checked()
    _shoot(ben, "runs-refused-delete")

    # 2 (again). Anna renames her LoRA run: the other pages' charts show the new name without a reload.
    anna.locator("#runs-picked input").click()
    anna.get_by_role("option", name="LoRA:", exact=False).first.click()
    anna.get_by_role("textbox", name="New name").fill("anna-quick-lora")
    anna.get_by_role("button", name="Rename").click()
    expect(anna.locator("#runs-message")).to_contain_text("Renamed")
    expect(late.locator("#loss-plot")).to_contain_text("anna-quick-lora", timeout=STEP_TIMEOUT)
    _shoot(late, "train-chart-after-rename", full_page=True)
    for context in (anna_context, ben_context, late_context):
        context.close()


def test_the_offline_notice_closes_for_the_session_and_page_zero_gets_the_usual_message(server, browser):
    from playwright.sync_api import expect

    context, page = _person(browser, server, 1400, 900)
    notice = page.locator("#studio-notice")
    expect(notice).to_contain_text("Offline: a tiny stand-in model replaces FLAN-T5")
    expect(notice.get_by_text("python -m studio prefetch")).to_be_hidden()   # behind the disclosure
    notice.locator("summary").click()
    expect(notice.get_by_text("python -m studio prefetch")).to_have_count(1)
    expect(notice.get_by_text("python -m studio prefetch")).to_be_visible()
    _shoot(page, "notice-details-open")
    page.locator("#notice-close").click()
    expect(notice).to_be_hidden()
    page.reload()
    page.get_by_role("tab", name="Train", exact=True).wait_for()
    expect(page.locator("#queue-board")).to_be_visible()
    expect(page.locator("#studio-notice")).to_be_hidden()                    # closed for this session

    # Page number zero on the Dataset tab: the usual message, the box back at 1, no error toast.
    _open(page, "Dataset")
    expect(page.get_by_text("Page 1 of")).to_be_visible()
    box = page.get_by_role("spinbutton", name="Page")
    box.fill("0")
    box.press("Enter")
    expect(page.get_by_text("The page number must be between 1 and")).to_be_visible()
    expect(box).to_have_value("1")
    expect(page.locator(".toast-title", has_text="Error")).to_have_count(0)
    context.close()


def test_presenter_mode_hides_training_controls(server, browser):
    from playwright.sync_api import expect

    context, page = _person(browser, server, 1400, 900, query="?presenter=1")
    _open(page, "Train")
    expect(page.locator("#presenter-note")).to_be_visible()
    expect(page.get_by_role("button", name="Start training")).to_be_hidden()
    expect(page.locator("#experiment")).to_be_hidden()            # "Train all three" trains too
    expect(page.locator("#experiment-start")).to_be_hidden()
    _open(page, "Runs")
    expect(page.get_by_role("button", name="Delete run")).to_be_hidden()
    expect(page.get_by_role("button", name="Rename")).to_be_hidden()
    _shoot(page, "presenter-runs")
    context.close()


RECORD_BOARD = """
window.__boardTexts = [];
new MutationObserver(() => {
    const board = document.querySelector('#queue-board');
    const text = board ? board.textContent.trim() : null;
    if (text && window.__boardTexts[window.__boardTexts.length - 1] !== text) window.__boardTexts.push(text);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def test_a_page_opened_while_a_training_runs_never_says_the_worker_is_free(server, browser):
    """The queue line is true from the first paint (it once said "free" for 7-18 s while a training ran)."""
    from playwright.sync_api import expect

    anna_context, anna = _person(browser, server)
    _train(anna, "Prompt tuning", 3000)
    expect(anna.locator("#queue-board")).to_contain_text("Prompt tuning (yours)", timeout=STEP_TIMEOUT)

    newcomer_context = browser.new_context(viewport={"width": 1280, "height": 720})
    newcomer_context.add_init_script(RECORD_BOARD)   # every text the board shows, from the first one
    newcomer = newcomer_context.new_page()
    newcomer.goto(server["url"])
    expect(newcomer.locator("#queue-board")).to_contain_text("Training now: Prompt tuning", timeout=STEP_TIMEOUT)
    seen = newcomer.evaluate("window.__boardTexts")
    assert seen and not any("free" in text for text in seen), seen
    # Gradio's pending overlay puts its timer ("0.0s") in the board while an update is on its way: a
    # timer alone claims nothing; every text with words must be "checking" or the training.
    said = [text for text in seen if re.sub(r"^\s*[\d.]+s\s*", "", text)]
    assert said and all("Training queue: checking" in text or "Training now" in text for text in said), seen

    anna.get_by_role("button", name="Stop").click()
    expect(anna.locator("#job-status")).to_contain_text("Stopped", timeout=STEP_TIMEOUT)
    for context in (anna_context, newcomer_context):
        context.close()
