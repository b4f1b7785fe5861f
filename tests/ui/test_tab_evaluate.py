"""studio/ui/tab_evaluate.py: the Evaluate tab's wiring: one click scores the ticked models; ticks follow new runs."""
import re

import gradio as gr
import pytest

from studio.ui import tab_evaluate
from studio.ui.handlers.choices import default_models
from tests.ui.one_tab import build_tab, by_elem_id, by_label, wired


@pytest.fixture
def tab(trained, tmp_path):
    demo, ctx = build_tab(tab_evaluate, trained.studio, tmp_path, with_tab=True)
    evaluate = next(fn for fn in demo.fns.values() if fn.api_name == "evaluate")
    return demo, ctx, evaluate


def test_the_form_ticks_the_original_and_every_run_and_caps_the_count_at_the_test_split(tab, trained):
    demo, _, _ = tab
    assert set(by_label(demo, "Models").value) == {"original", *trained.runs.values()}
    count = by_label(demo, "Test dialogues")
    assert count.maximum == len(trained.studio.data.split("test")) and count.value <= count.maximum


def test_run_evaluation_fills_chart_tables_and_download(tab, trained):
    demo, _, evaluate = tab
    assert evaluate.preprocess is False      # model ids are checked against the runs on disk
    out = evaluate.fn(["original", trained.runs["lora"]], 3, 8, progress=lambda *a, **k: None)
    figure = out[by_elem_id(demo, "rouge-plot")]
    assert {trace.name for trace in figure.data} >= {"Original"}
    gains = next(v for c, v in out.items() if isinstance(c, gr.Dataframe) and "gain" in (c.label or ""))
    assert gains.visible and len(gains.value["data"]) == 2          # one row per model
    # Scores stay numbers for sorting and scripts but read with one decimal on the page: 4.0 as "4.0", not "4".
    headers, shown = gains.value["headers"], gains.value["metadata"]["display_value"]
    for name in ("ROUGE-1", "ROUGE-2", "ROUGE-L", "BLEU"):
        column = headers.index(name)
        assert all(isinstance(row[column], float) for row in gains.value["data"])
        assert all(re.fullmatch(r"\d+\.\d", row[column]) for row in shown), [row[column] for row in shown]
    per_example = next(v for c, v in out.items() if isinstance(c, gr.Dataframe) and "Every dialogue" in (c.label or ""))
    rouge_l = [i for i, h in enumerate(per_example.value["headers"]) if h.endswith("ROUGE-L")]
    assert rouge_l and all(re.fullmatch(r"\d+\.\d", row[i]) for row in per_example.value["metadata"]["display_value"]
                           for i in rouge_l)
    download = next(v for c, v in out.items() if isinstance(c, gr.DownloadButton))
    assert download.visible and download.value["path"].endswith(".csv")
    assert "Scored **3** test dialogues with 2 model(s)" in out[next(c for c in out if isinstance(c, gr.Markdown))]


def test_nothing_ticked_is_refused_and_changes_nothing(tab):
    _, _, evaluate = tab
    with pytest.warns(UserWarning):
        assert evaluate.fn([], 3, 8, progress=lambda *a, **k: None) == gr.skip()


def test_a_new_page_ticks_the_persons_own_runs_and_remembers_what_it_offered(tab, trained):
    demo, ctx, _ = tab
    start = wired(demo, ctx.owner, "change")
    out = start.fn("alice")
    models = by_label(demo, "Models")
    everything = {"original", *trained.runs.values()}
    assert set(out[models].value) == set(default_models(trained.studio, "alice")) == everything
    assert any("yours" in label for label, _ in out[models].choices)       # alice trained them
    assert set(next(v for c, v in out.items() if c is not models)) == everything   # offered: remembered
    carol = start.fn("carol")[models]
    assert carol.value == default_models(trained.studio, "carol")
    assert not any("yours" in label for label, _ in carol.choices)


def test_a_refresh_sends_ticks_only_when_they_change(tab, trained):
    demo, ctx, _ = tab
    refresh, models = wired(demo, ctx.runs_version, "change"), by_label(demo, "Models")
    everything = ["original", *trained.runs.values()]
    unchanged = refresh.fn("alice", ["original"], everything)[models]
    # The page may have changed its ticks since this refresh set off: ticks it keeps are not sent back.
    assert "value" not in unchanged.constructor_args
    assert {value for _, value in unchanged.choices} == set(everything)
    # alice's own runs, new since the last look, are ticked for her: that is sent.
    fresh = refresh.fn("alice", ["original"], ["original"])[models]
    assert set(fresh.constructor_args["value"]) == set(everything)
