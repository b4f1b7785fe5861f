"""A real browser drives `python app.py` offline, as a workshop participant would.

Needs Debian's chromium at /usr/bin/chromium. Without it this test FAILS with a
message saying so, unless STUDIO_SKIP_BROWSER=1 is set. Screenshots of every tab
land in test-artifacts/screenshots/ for a human to look at.

Robust to a busy machine: every step waits for a condition on the page (Playwright's
expect and locators), never for a fixed time, with a long default timeout that only
catches a hang. How fast the app is belongs to the benchmark, not here.
"""
from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from tests.app_server import app_in_folder

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
# Only a hang should reach these: a slow step on a loaded 2-core machine must still pass.
STEP_TIMEOUT_MS = 300_000
JOB_TIMEOUT_S = 1800
TINY = {"steps": 3, "batch_size": 4, "train_size": 16}
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
    # A fresh model cache: this app builds its stand-in at start, as on a fresh machine (the other
    # browser files share the session's, already built).
    with app_in_folder(tmp_path_factory.mktemp("browser")) as app:
        yield app


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.set_default_navigation_timeout(STEP_TIMEOUT_MS)
        page.goto(server["url"])
        yield page
        browser.close()


@pytest.fixture
def phone(server, page):
    """A second browser context sized like a phone (390x844), sharing the browser of `page`."""
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                               has_touch=True)
    phone_page = context.new_page()
    phone_page.set_default_timeout(STEP_TIMEOUT_MS)
    phone_page.set_default_navigation_timeout(STEP_TIMEOUT_MS)
    phone_page.goto(server["url"])
    yield phone_page
    context.close()


@pytest.fixture(scope="module")
def other_runs(server):
    """Full and prompt-tuning runs made by the engine, as `python -m studio prepare` would leave them.

    Module-scoped, so each test that needs them asks for them and they are made once per server,
    whichever test comes first: the walk asks only midway (its open page must pick up runs another
    process wrote), the phone test at its start, so it passes alone or on a worker of its own."""
    from studio.config.settings import Settings, TrainConfig
    from studio.service.engine import Studio

    tmp = server["tmp"]
    studio = Studio(Settings(offline=True, runs_dir=tmp / "runs", cache_dir=server["cache_dir"], data="bundled"))
    for method in ("full", "prompt"):
        job = studio.submit_training(method, TrainConfig(**TINY), owner="presenter")
        studio.jobs.wait(job.job_id, timeout=JOB_TIMEOUT_S)
        assert job.status == "completed", job.error
    return tmp / "runs"


def _open(page, name):
    from playwright.sync_api import expect

    page.get_by_role("tab", name=name, exact=True).click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute("aria-selected", "true")


def _close_toasts(page):
    """Close every toast (they would cover the charts), then wait until none is left.

    The buttons are clicked from the page's script, not with Playwright's click: a toast that is
    already leaving (its own timer ran out) is inert, so a Playwright click waits on it and, once it
    is gone, waits its whole timeout for another toast that never comes (10 s a screenshot)."""
    from playwright.sync_api import expect

    page.evaluate("() => document.querySelectorAll('.toast-close').forEach(button => button.click())")
    expect(page.locator(".toast-body")).to_have_count(0)


def _shoot(page, name):
    from playwright.sync_api import expect

    _close_toasts(page)
    for plot in page.locator(".js-plotly-plot").all():  # every chart has drawn before the picture
        if plot.is_visible():
            expect(plot.locator(".main-svg").first).to_be_visible()
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_page_serves_offline(server):
    # Serving at all is the check; how fast belongs to the benchmark (`python -m studio bench`).
    with urllib.request.urlopen(server["url"] + "config", timeout=120) as response:
        assert response.status == 200 and b"Tuning Studio" in response.read()
    assert server["process"].poll() is None and server["startup"] > 0


def _check_steadily(box, attempts: int = 10) -> None:
    """Tick a checkbox in a list the page may redraw meanwhile (runs written by another process
    reach every open page within seconds): a click that lands on the old, detached list is retried."""
    from playwright.sync_api import Error as PlaywrightError

    for _ in range(attempts):
        try:
            box.check(timeout=30_000)
            if box.is_checked():
                return
        except PlaywrightError:
            pass
        box.page.wait_for_timeout(1_000)
    assert box.is_checked(), "the checkbox never stayed ticked"


def test_a_participant_uses_every_tab(server, page, request):
    from playwright.sync_api import expect

    expect(page.get_by_text("Offline: a tiny stand-in model replaces FLAN-T5")).to_be_visible()
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
    expect(page.locator("#job-status")).to_contain_text("Finished")
    expect(page.locator("#job-progress")).to_contain_text("Step 5 of 5")
    expect(page.get_by_text("Trainable parameters:")).to_be_visible()
    plot = page.locator("#loss-plot")
    expect(plot.locator(".scatterlayer .trace").first).to_be_visible()
    expect(plot).to_contain_text("(this run)")
    _shoot(page, "train")

    request.getfixturevalue("other_runs")   # now, with the page already open

    # Compare: paste a dialogue, four summaries.
    _open(page, "Compare")
    page.get_by_role("textbox", name="Dialogue", exact=True).fill(
        "Anna: Are we still meeting at noon?\nBen: Yes, at the cafe by the station.\nAnna: Great, see you there.")
    for method in ("Full fine-tuning", "LoRA", "Prompt tuning"):  # the runs made above are listed now
        expect(page.get_by_label(f"{method} run")).not_to_have_value("none yet: train one first")
    page.get_by_role("button", name="Summarize").click()
    for key in COLUMNS:
        expect(page.locator(f"#summary-{key} textarea")).not_to_have_value("")
        expect(page.locator(f"#info-{key}")).to_contain_text(" s")
    _shoot(page, "compare")

    # Dataset -> Compare: the reference comes along and each summary gets its ROUGE-L.
    _open(page, "Dataset")
    page.get_by_role("button", name="Send to Compare").first.click()
    expect(page.get_by_role("tab", name="Compare", exact=True)).to_have_attribute("aria-selected", "true")
    expect(page.locator("#compare-reference textarea")).not_to_have_value("")
    page.get_by_role("button", name="Summarize").click()
    for key in COLUMNS:
        expect(page.locator(f"#info-{key}")).to_contain_text("ROUGE-L")
    _shoot(page, "compare-from-dataset")

    # Evaluate: Original and the new LoRA run on 4 dialogues.
    _open(page, "Evaluate")
    _check_steadily(page.get_by_role("checkbox", name="LoRA:", exact=False).first)
    expect(page.get_by_role("checkbox", name="Original")).to_be_checked()
    page.get_by_label("number input for Test dialogues").fill("4")
    page.get_by_label("number input for Test dialogues").press("Enter")
    page.get_by_role("button", name="Run evaluation").click()
    chart = page.locator("#rouge-plot")
    expect(chart).to_contain_text("95% bootstrap interval")
    expect(chart.locator(".barlayer .trace")).not_to_have_count(0)
    _labels_clear_of_whiskers(chart)
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
    expect(page.locator("#job-progress")).to_contain_text("Step")
    page.reload()  # the browser keeps this session's token, so the page picks the job up again
    _open(page, "Train")
    expect(page.locator("#job-status")).to_contain_text("Prompt tuning is training")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#job-status")).to_contain_text("Stopped")
    _open(page, "Runs")
    expect(page.locator("#runs-table")).to_contain_text("stopped")


def _labels_clear_of_whiskers(chart):
    """Each value label's box starts to the right of every whisker cap in its row: nothing overlaps."""
    boxes = chart.evaluate("""el => {
        const rect = n => { const r = n.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; };
        return { labels: [...el.querySelectorAll('.annotation .annotation-text')].map(rect),
                 whiskers: [...el.querySelectorAll('.errorbar path')].map(rect) }; }""")
    assert boxes["labels"] and boxes["whiskers"]
    for label in boxes["labels"]:
        for whisker in boxes["whiskers"]:
            assert not boxes_overlap(label, whisker), (label, whisker)


def boxes_overlap(a, b) -> bool:
    """Whether two [left, right, top, bottom] screen boxes share any area."""
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def test_a_phone_reaches_every_tab_and_tables_scroll_sideways(other_runs, phone):
    """The one phone test (the workshop's too). 390x844: all five tab names on screen (no "More tabs"
    menu), the Runs table scrolls instead of squeezing its columns, and chart titles and placeholders
    stay inside their charts."""
    from playwright.sync_api import expect

    for name in ("Dataset", "Train", "Compare", "Evaluate", "Runs"):
        tab = phone.get_by_role("tab", name=name, exact=True)
        expect(tab).to_be_visible()
        box = tab.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
        tab.click()                                   # and each one opens
        expect(tab).to_have_attribute("aria-selected", "true")
    expect(phone.get_by_role("button", name="More tabs")).to_be_hidden()

    _open(phone, "Train")     # the loss chart's options wrap as wholes: a label is not squeezed one word per line
    overlay = phone.get_by_text("Overlay my earlier runs", exact=True)
    expect(overlay).to_be_visible()
    line = overlay.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    assert overlay.bounding_box()["height"] < 1.5 * line, (overlay.bounding_box(), line)

    _open(phone, "Dataset")   # the two charts stack: each topic name is whole, none cut at the edge
    topics = phone.locator("#topic-plot")
    expect(topics.locator(".ytick text").first).to_be_visible()
    _ticks_inside(topics)

    _open(phone, "Evaluate")
    chart = phone.locator("#rouge-plot")
    expect(chart.locator(".main-svg").first).to_be_visible()
    _inside_chart(chart)
    _shoot(phone, "phone-evaluate")

    _open(phone, "Runs")
    table = phone.locator("#runs-table")
    expect(table).to_contain_text("Prompt tuning")   # the runs saved so far, in a table that scrolls
    expect(table.get_by_role("columnheader").first).to_be_visible()
    widths = table.get_by_role("columnheader").evaluate_all("cells => cells.map(c => c.getBoundingClientRect().width)")
    assert min(widths) >= 80, widths  # a column at least a short word wide, not one letter
    scroller = table.locator(".virtual-table-viewport")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth"), "the table should scroll sideways"
    _shoot(phone, "phone-runs")


def _ticks_inside(chart):
    """Every y-axis tick label starts inside the chart's own box (a squeezed chart cuts long ones)."""
    result = chart.evaluate("""el => ({ left: el.getBoundingClientRect().left,
        ticks: [...el.querySelectorAll('.ytick text')].map(t => [t.textContent, t.getBoundingClientRect().left]) })""")
    assert result["ticks"]
    for text, left in result["ticks"]:
        assert left >= result["left"] - 1, (text, left, result["left"])


def _inside_chart(chart):
    """The title and any placeholder text lie within the chart's own box (nothing cut off)."""
    result = chart.evaluate("""el => {
        const box = el.querySelector('.main-svg').getBoundingClientRect();
        const texts = [...el.querySelectorAll('.gtitle, .annotation-text')].map(t => t.getBoundingClientRect());
        return { box: [box.left, box.right], texts: texts.map(r => [r.left, r.right]) }; }""")
    left, right = result["box"]
    assert result["texts"]
    for t_left, t_right in result["texts"]:
        assert left - 1 <= t_left and t_right <= right + 1, (result["box"], (t_left, t_right))
