"""A presenter's view in a real browser: a presenter page on a 1920x1080 projector, and an edited dialogue on Compare.

A presenter page (?presenter=1) uses the whole width, sets type that reads from the back of a room,
and shows Compare's four summaries above the fold; a dialogue sent from the Dataset tab and then
edited keeps its reference with a note that it may no longer match. Screenshots land in
test-artifacts/screenshots/projector-*.png for a person to look at. Waits on conditions, never on the clock.
"""
from __future__ import annotations

import pytest

from tests.app_server import app_in_folder
from tests.scenarios.test_browser import CHROMIUM, SHOTS, _need_browser, _open
from tests.scenarios.test_browser_workshop import LAUNCH_ARGS, STEP_TIMEOUT

PROJECTOR = {"width": 1920, "height": 1080}
# What the page measures, in CSS pixels: the content's width, and the font sizes a room reads.
MEASURE = """() => {
  const box = s => { const e = document.querySelector(s); return e ? e.getBoundingClientRect() : null; };
  const size = e => e ? parseFloat(getComputedStyle(e).fontSize) : 0;
  const hint = [...document.querySelectorAll('[data-testid="block-info"]')].find(e => e.offsetParent
                  && getComputedStyle(e).fontWeight < 600 && !e.closest('label'));
  return {presenter: document.body.classList.contains('presenter-page'),
          content: box('.gradio-container .contain').width, body: size(document.body),
          prose: size(document.querySelector('.tab-intro p, .queue-board p, .prose p')),
          summaryTops: ['original', 'full', 'lora', 'prompt'].map(k => box('#summary-' + k + ' textarea').top)};
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, cache_dir):
    _need_browser()
    with app_in_folder(tmp_path_factory.mktemp("projector"), cache_dir=cache_dir) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def _page(browser, server, query=""):
    context = browser.new_context(viewport=PROJECTOR)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT)
    page.goto(server["url"] + query)
    page.get_by_role("tab", name="Compare", exact=True).wait_for()
    return context, page


def _measure_compare(page) -> dict:
    from playwright.sync_api import expect

    _open(page, "Compare")
    expect(page.locator("#summary-prompt textarea")).to_be_visible()
    return page.evaluate(MEASURE)


def test_a_presenter_page_fills_a_projector_in_large_type(server, browser):
    from playwright.sync_api import expect

    context, page = _page(browser, server, "?presenter=1")
    expect(page.locator("body.presenter-page")).to_have_count(1)
    seen = _measure_compare(page)
    assert seen["presenter"]
    assert seen["content"] >= 1800, seen        # no blank band at the side
    assert seen["body"] >= 18 and seen["prose"] >= 18, seen
    # A hint under a field ("1 = greedy, fastest") reads from the back too.
    hint = page.get_by_text("1 = greedy, fastest")
    assert float(hint.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 18
    # The four summaries start above the fold, with room for their first lines.
    for top in seen["summaryTops"]:
        assert 0 < top and top + 60 <= PROJECTOR["height"], seen
    page.screenshot(path=str(SHOTS / "projector-presenter-compare-1920x1080.png"))
    context.close()

    # A participant's page on the same screen keeps the ordinary look.
    context, page = _page(browser, server)
    seen = _measure_compare(page)
    assert not seen["presenter"] and seen["content"] < 1800 and seen["body"] < 18, seen
    page.screenshot(path=str(SHOTS / "projector-participant-compare-1920x1080.png"))
    context.close()


def test_an_edited_dialogue_keeps_its_reference_and_says_so(server, browser):
    from playwright.sync_api import expect

    context, page = _page(browser, server)
    _open(page, "Dataset")
    send = page.get_by_role("button", name="Send to Compare").first
    reference = page.locator("#compare-reference textarea")
    # The page fills its slots after load; a click before then is refused with "That slot is empty".
    expect(page.locator(".block.pager-caption")).to_contain_text("dialogues")
    send.click()
    expect(page.get_by_role("tab", name="Compare", exact=True)).to_have_attribute("aria-selected", "true")
    expect(reference).not_to_have_value("")
    sent_reference = reference.input_value()
    dialogue = page.locator("#compare-dialogue textarea")
    text = dialogue.input_value()
    dialogue.fill(text.replace(text.split()[3], "zebra", 1))
    note = page.locator("#compare-reference-note")
    expect(note).to_contain_text("1 word changed")
    expect(note).to_contain_text("may no longer match")
    expect(reference).to_have_value(sent_reference)
    # Another dialogue altogether: the reference goes, and the note says why.
    page.get_by_role("button", name="travel plans (plain lines)").click()
    expect(reference).to_have_value("")
    expect(note).to_contain_text("reference summary was removed")
    page.screenshot(path=str(SHOTS / "projector-reference-removed.png"))
    context.close()
