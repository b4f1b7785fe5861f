"""studio/ui/tab_dataset.py: the Dataset tab's wiring: pages, filters, charts, and sending a dialogue to Compare."""
import gradio as gr
import pytest

from studio.ui import tab_dataset
from studio.ui.handlers.common import ALL_TOPICS, PAGE_SIZE
from tests.ui.one_tab import all_wired, build_tab, by_label, wired


@pytest.fixture
def tab(studio, tmp_path):
    demo, ctx = build_tab(tab_dataset, studio, tmp_path)
    buttons = {b.value: b for b in demo.blocks.values() if isinstance(b, gr.Button)}
    return demo, ctx, buttons


def _by_type(out, kind):
    return [value for component, value in out.items() if isinstance(component, kind)]


def test_the_first_page_and_both_charts_show_on_load(tab):
    demo, _, _ = tab
    loads = all_wired(demo, demo, "load")
    assert sorted(fn.name for fn in loads) == ["figures", "first_page"]
    page = next(fn for fn in loads if fn.name == "first_page").fn("train", ALL_TOPICS, "")
    assert by_label(demo, "Page") in page and page[by_label(demo, "Page")] == 1
    assert sum(bool(v) for v in _by_type(page, gr.Textbox) if isinstance(v, str)) == 2 * PAGE_SIZE
    figures = next(fn for fn in loads if fn.name == "figures").fn("train", ALL_TOPICS, "")
    assert len(figures) == 2 and all(fig.data for fig in figures.values())


def test_next_and_previous_turn_pages_and_a_bad_number_keeps_the_page_shown(tab):
    demo, _, buttons = tab
    page_box = by_label(demo, "Page")
    second = wired(demo, buttons["Next ▶"], "click").fn("train", ALL_TOPICS, "", 1, 1)
    assert second[page_box] == 2
    first = wired(demo, buttons["◀ Previous"], "click").fn("train", ALL_TOPICS, "", 2, 2)
    assert first[page_box] == 1
    with pytest.warns(UserWarning, match="The page number must be between 1 and"):
        refused = wired(demo, page_box, "submit").fn("train", ALL_TOPICS, "", 0, 2)
    assert refused == {page_box: 2}      # the box gets the shown page back, nothing else changes


def test_a_new_split_offers_its_own_topics_and_starts_at_page_one(tab, studio):
    demo, _, _ = tab
    split = by_label(demo, "Split")
    out = wired(demo, split, "input").fn("test", "")
    topic = out[by_label(demo, "Topic")]
    assert topic.choices == [(t, t) for t in [ALL_TOPICS, *studio.data.topics("test")]]
    assert topic.value == ALL_TOPICS and out[by_label(demo, "Page")] == 1


def test_send_to_compare_fills_the_dialogue_and_its_references_and_opens_compare(tab, studio):
    demo, ctx, _ = tab
    sends = [fn for fn in demo.fns.values() if fn.name == "send_to_compare"]
    assert len(sends) == PAGE_SIZE
    example = studio.data.split("train")[0]
    out = sends[0].fn("train", [example.id])
    assert out[ctx.dialogue] == example.dialogue
    assert out[ctx.sent_example] == {"dialogue": example.dialogue, "references": example.references}
    assert out[ctx.tabs].selected == "compare"
    with pytest.warns(UserWarning, match="That slot is empty"):
        assert sends[1].fn("train", [example.id]) == gr.skip()
