"""studio/ui/tab_compare.py: the Compare tab's wiring: a summary per picked run, and fresh pickers."""
import gradio as gr
import pytest

from studio.model.methods import registry
from studio.ui import tab_compare
from studio.ui.handlers.common import COLUMNS, NONE, SKIP
from tests.ui.one_tab import build_tab, by_elem_id, by_label, wired

DIALOGUE = "#Person1#: Shall we meet at noon?\n#Person2#: Yes, at the cafe by the station."


@pytest.fixture
def tab(trained, tmp_path):
    demo, ctx = build_tab(tab_compare, trained.studio, tmp_path, with_tab=True)
    pickers = [by_label(demo, f"{registry.label(m)} run") for m in registry.NAMES]
    return demo, ctx, pickers


def _picks(trained) -> list[str]:
    """A run of each method, in the pickers' order ("none" for a method the fixture did not train)."""
    return [trained.runs.get(m, NONE) for m in registry.NAMES]


def _inputs(dialogue, picks: list[str], tokens, beams, sent) -> list:
    """The Summarize button's inputs in its endpoint's order: a run per default method, the settings, then a run
    per optional method (positional scripts written before it was registered keep their places)."""
    by_method = dict(zip(registry.NAMES, picks))
    return [dialogue, *(by_method[m] for m in registry.DEFAULT_NAMES), tokens, beams, sent,
            *(by_method[m] for m in registry.OPTIONAL_NAMES)]


def test_the_pickers_start_at_the_newest_run_of_each_method(tab, trained):
    _, _, pickers = tab
    assert [p.value for p in pickers] == _picks(trained)


def test_summarize_fills_four_columns_and_the_reference_only_for_a_sent_dialogue(tab, trained):
    demo, ctx, pickers = tab
    button = next(b for b in demo.blocks.values() if isinstance(b, gr.Button) and b.value == "Summarize")
    summarize = wired(demo, button, "click")
    assert summarize.api_name == "summarize" and summarize.preprocess is False   # raw values: checked on disk
    runs = _picks(trained)
    out = summarize.fn(*_inputs(DIALOGUE, runs, 8, 1, None))
    texts = [out[by_label(demo, title)] for title in ("Original", *registry.LABELS.values())]
    assert len(texts) == len(COLUMNS) and all(isinstance(text, str) for text in texts)
    reference_box = next(c for c in out if c not in {by_label(demo, t) for t in ("Original", *registry.LABELS.values())}
                         and isinstance(c, gr.Textbox))
    assert out[reference_box] == gr.skip()                 # a pasted dialogue: whatever was typed stays
    sent = {"dialogue": DIALOGUE, "references": ["They meet at noon at the cafe."]}
    assert summarize.fn(*_inputs(DIALOGUE, runs, 8, 1, sent))[reference_box] == "They meet at noon at the cafe."


def test_a_gone_run_says_so_in_its_column_and_an_empty_dialogue_is_refused(tab, trained):
    demo, ctx, _ = tab
    summarize = next(fn for fn in demo.fns.values() if fn.api_name == "summarize")
    gone = ["full-20990101-000000-gone", *[NONE] * (len(registry.NAMES) - 1)]
    out = summarize.fn(*_inputs(DIALOGUE, gone, 8, 1, None))
    full_text, full_info = by_label(demo, "Full fine-tuning"), by_elem_id(demo, "info-full")
    assert out[full_text] == "" and "That run is gone" in out[full_info]
    with pytest.warns(UserWarning):
        assert summarize.fn(*_inputs("   ", _picks(trained), 8, 1, None)) == gr.skip()


def test_new_runs_refresh_the_pickers_and_keep_a_pick_still_there(tab, trained):
    demo, ctx, pickers = tab
    refresh = wired(demo, ctx.runs_version, "change")
    current = _picks(trained)
    kept = refresh.fn("alice", *[NONE if m == "lora" else run for m, run in zip(registry.NAMES, current)])
    sent = [kept[p].constructor_args for p in pickers]
    # Picks still there are left to the page (a late refresh must not undo a newer pick); "none yet"
    # becomes the new run.
    assert "value" not in sent[0] and "value" not in sent[2]
    assert sent[1]["value"] == trained.runs["lora"]
    skipped = refresh.fn("alice", SKIP, *current[1:])[pickers[0]]
    assert "value" not in skipped.constructor_args   # a column the person skipped stays skipped
    assert any("yours" in label for label, _ in kept[pickers[1]].choices)   # alice trained them
    opened = wired(demo, demo, "load").fn("bob")
    assert [opened[p].value for p in pickers] == _picks(trained)
    assert not any("yours" in label for label, _ in opened[pickers[0]].choices)


def test_one_event_marks_the_summaries_so_a_late_run_never_undoes_a_new_reference(tab):
    """Every trigger of the ROUGE marks (new summaries, an edited reference, another highlight) runs one event:
    two events writing the same marks could finish out of order under load, leaving the marks of a reference
    the person had replaced. New summaries are marked against the dialogue in the box; a new reference keeps
    the dialogue the summaries on screen came from, even after the box was edited."""
    demo, _, _ = tab
    score, box = by_elem_id(demo, "overlap-score-original"), by_elem_id(demo, "compare-reference")
    writers = [fn for fn in demo.fns.values() if score in fn.outputs]
    assert len(writers) == 1
    fooling = by_elem_id(demo, "fool-note")   # "Can ROUGE be fooled?" follows the same summaries and reference
    assert len([fn for fn in demo.fns.values() if fooling in fn.outputs]) == 1
    marks = writers[0]
    triggers = [tuple(t) for t in marks.targets]
    assert (box._id, "change") in triggers and len(triggers) == len(COLUMNS) + 2   # summaries, reference, view
    source = next(c for c in marks.outputs if isinstance(c, gr.State))
    novelty = by_elem_id(demo, "novelty-original")

    summary = "Person1 and Person2 meet at the cafe at noon."
    texts = [summary] + [""] * (len(COLUMNS) - 1)
    out = marks.fn(*texts, "They meet for lunch.", DIALOGUE, {}, "unigram")
    assert out[source] == {"texts": texts, "dialogue": DIALOGUE}
    copied_from_dialogue = out[novelty]
    # The reference replaced by the summary itself, the dialogue box edited meanwhile: every word is marked,
    # and copied-or-new still counts against the dialogue the summary was written from.
    out = marks.fn(*texts, summary, "Someone pasted another dialogue.", out[source], "unigram")
    assert "ROUGE-1: 9 of 9 words marked" in out[score]
    assert out[source]["dialogue"] == DIALOGUE and out[novelty] == copied_from_dialogue
    # New summaries: now the box's dialogue is theirs.
    fresh = ["Someone pasted a dialogue."] + [""] * (len(COLUMNS) - 1)
    out = marks.fn(*fresh, summary, "Someone pasted another dialogue.", out[source], "unigram")
    assert out[source] == {"texts": fresh, "dialogue": "Someone pasted another dialogue."}
