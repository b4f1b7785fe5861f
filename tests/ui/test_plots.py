"""Figures: labels clear of whiskers, one decimal in every number shown, smoothing, log axes."""
from __future__ import annotations

import math
import re

import pytest

from studio.ui import plots
from tests.studios import a_record


def _summary(mean, low, high):
    return {"mean": mean, "low": low, "high": high}


SCORES = {
    "original": {"rouge1": _summary(0.30, 0.27, 0.33), "rouge2": _summary(0.09, 0.06, 0.12),
                 "rougeL": _summary(0.25, 0.22, 0.28)},
    "run-a": {"rouge1": _summary(0.38, 0.31, 0.45), "rouge2": _summary(0.13, 0.05, 0.21),
              "rougeL": _summary(0.31, 0.30, 0.32)},
}
LABELS = {"original": "Original", "run-a": "LoRA: a"}
METHODS = {"original": "original", "run-a": "lora"}


def _events(losses, start=1):
    return [{"type": "step", "step": start + i, "loss": loss} for i, loss in enumerate(losses)]


# --- number format in figures ---------------------------------------------------------------------------------

def test_every_number_a_figure_writes_has_one_decimal():
    one_decimal = re.compile(r"^-?\d+\.\d$")
    fig = plots.rouge_figure(SCORES, LABELS, METHODS)
    texts = [a.text for a in fig.layout.annotations]
    assert len(texts) == 6 and all(one_decimal.match(t) for t in texts), texts
    hovers = [c for trace in fig.data for c in trace.customdata]
    assert all(re.fullmatch(r"\d+\.\d \(\d+\.\d–\d+\.\d\)", h) for h in hovers), hovers


# --- ROUGE bars ---------------------------------------------------------------------------------

def test_value_labels_sit_beyond_the_whisker_ends_on_their_bars_centre_line():
    fig = plots.rouge_figure(SCORES, LABELS, METHODS)
    bars = list(fig.data)
    assert [bar.type for bar in bars] == ["bar", "bar"]  # labels are annotations, not extra traces
    assert fig.layout.barmode == "group" and fig.layout.bargap == plots.BAR_GAP and fig.layout.bargroupgap == 0
    assert list(fig.layout.yaxis.range) == [2.5, -0.5]  # categories at 0, 1, 2; ROUGE-1 on top
    notes = list(fig.layout.annotations)
    axis_max = fig.layout.xaxis.range[1]
    for index, bar in enumerate(bars):
        assert bar.orientation == "h"
        whisker_ends = [mean + plus for mean, plus in zip(bar.x, bar.error_x.array)]
        for category, (mean, end) in enumerate(zip(bar.x, whisker_ends)):
            centre = plots.bar_centre(category, index, len(bars))
            note = next(n for n in notes if n.y == pytest.approx(centre))
            assert note.xanchor == "left" and note.x > end, (note.x, end)  # text runs away from the whisker
            assert float(note.text) == pytest.approx(mean)
            assert axis_max > note.x * 1.08
    # two bars per category: centres a bar's width apart, inside the category's slot
    assert plots.bar_centre(0, 0, 2) == pytest.approx(-0.2) and plots.bar_centre(0, 1, 2) == pytest.approx(0.2)


def test_whiskers_span_the_bootstrap_interval():
    fig = plots.rouge_figure(SCORES, LABELS, METHODS)
    bar = next(t for t in fig.data if t.type == "bar" and t.name == "LoRA: a")
    assert list(bar.x) == [38.0, 13.0, 31.0]
    assert [m + p for m, p in zip(bar.x, bar.error_x.array)] == pytest.approx([45.0, 21.0, 32.0])
    assert [m - p for m, p in zip(bar.x, bar.error_x.arrayminus)] == pytest.approx([31.0, 5.0, 30.0])
    assert bar.marker.color == plots.METHOD_COLORS["lora"]


def test_empty_figures_wrap_their_message_to_fit_a_phone():
    for fig in (plots.rouge_figure({}, {}), plots.loss_figure({}), plots.efficiency_figure([])):
        message = fig.layout.annotations[0].text
        assert all(len(line) <= plots.NARROW_CHARS for line in message.split("<br>")), message
        assert len(fig.layout.title.text) <= plots.NARROW_CHARS


def test_wrap_keeps_every_word_and_breaks_only_at_spaces():
    text = "Run an evaluation to see the scores of every model here"
    wrapped = plots.wrap(text, width=20)
    assert wrapped.replace("<br>", " ") == text
    assert all(len(line) <= 20 for line in wrapped.split("<br>"))
    assert plots.wrap("averyveryverylongword", width=5) == "averyveryverylongword"


# --- loss curves --------------------------------------------------------------------------------

def test_moving_average_is_trailing_and_keeps_the_length():
    values = [4.0, 2.0, 6.0, 0.0, 8.0]
    assert plots.moving_average(values, 3) == pytest.approx([4.0, 3.0, 4.0, 8 / 3, 14 / 3])
    assert plots.moving_average(values, 1) == values
    assert plots.moving_average(values, 0) == values
    assert plots.moving_average(values, 10) == pytest.approx([4.0, 3.0, 4.0, 3.0, 4.0])
    assert plots.moving_average([], 5) == []


def test_smoothing_draws_the_average_bold_and_the_raw_points_faint():
    losses = [5.0, 3.0, 4.0, 2.0, 3.0, 1.0]
    fig = plots.loss_figure({"LoRA (this run)": ("lora", _events(losses))}, smoothing=2)
    raw, smooth = fig.data
    assert list(raw.y) == losses and raw.showlegend is False and raw.opacity < 0.5
    assert list(smooth.y) == pytest.approx([5.0, 4.0, 3.5, 3.0, 2.5, 2.0])
    assert smooth.legendgroup == raw.legendgroup  # clicking the legend hides both
    assert smooth.line.width > raw.line.width
    assert "moving average over 2 steps" in fig.layout.title.subtitle.text
    unsmoothed = plots.loss_figure({"LoRA (this run)": ("lora", _events(losses))})
    assert len(unsmoothed.data) == 1 and list(unsmoothed.data[0].y) == losses


def test_a_short_run_ticks_every_whole_step_and_a_long_one_keeps_plotlys_ticks():
    short = plots.loss_figure({"LoRA (this run)": ("lora", _events([3.0, 2.0, 1.5]))})
    assert short.layout.xaxis.dtick == 1
    long = plots.loss_figure({"LoRA (this run)": ("lora", _events([3.0 - i / 100 for i in range(200)]))})
    assert long.layout.xaxis.dtick is None


def test_log_scale_sets_a_log_axis_with_readable_ticks():
    losses = [8.0, 4.0, 2.0, 1.0, 0.6]
    fig = plots.loss_figure({"Full (this run)": ("full", _events(losses))}, log_scale=True)
    assert fig.layout.yaxis.type == "log"
    ticks = list(fig.layout.yaxis.tickvals)
    assert ticks == sorted(ticks) and ticks[0] <= 0.6 and ticks[-1] >= 8.0
    assert {round(t / 10 ** math.floor(math.log10(t))) for t in ticks} <= {1, 2, 5}
    assert list(fig.layout.yaxis.ticktext) == [f"{t:g}" for t in ticks]
    assert plots.loss_figure({"Full (this run)": ("full", _events(losses))}).layout.yaxis.type == "linear"


def test_several_runs_overlay_and_runs_of_one_method_differ_by_dash():
    curves = {"LoRA (this run)": ("lora", _events([3, 2, 1])),
              "LoRA: earlier": ("lora", _events([4, 3, 2])),
              "LoRA: older": ("lora", _events([5, 4, 3])),
              "Full: quick": ("full", _events([3, 3, 3]))}
    fig = plots.loss_figure(curves, smoothing=1)
    assert [t.name for t in fig.data] == list(curves)
    assert fig.data[0].line.width > fig.data[1].line.width and fig.data[0].line.dash == "solid"
    assert fig.data[1].line.color == fig.data[2].line.color == plots.METHOD_COLORS["lora"]
    assert fig.data[1].line.dash != fig.data[2].line.dash
    assert fig.layout.showlegend is True


def test_step_events_without_a_finite_loss_are_skipped():
    events = [{"step": 1, "loss": 2.0}, {"step": 2}, {"step": 3, "loss": float("nan")}, {"step": 4, "loss": 1.0},
              {"type": "eval", "eval_loss": 1.5}]
    assert plots.step_losses(events) == ([1, 4], [2.0, 1.0])


# --- per topic ----------------------------------------------------------------------------------



# --- charts on a projector, and run names that are user text ---------------------------------------

HOSTILE = ("<a href='//x.io'>Q", "<b>BOLD</b>", "100%{x} sure")


def _markup_free(text) -> bool:
    """Nothing in `text` that Plotly reads as a tag or a hover field."""
    return text is None or ("<" not in text.replace("<br>", "") and "%{" not in text)


def test_run_names_reach_every_figure_as_text_never_as_markup():
    loss = plots.loss_figure({name: ("lora", _events([2.0, 1.0])) for name in HOSTILE})
    rouge = plots.rouge_figure({name: SCORES["run-a"] for name in HOSTILE}, {n: n for n in HOSTILE})
    scores = {name: {"per_task": {"trans<b>lation</b>": {"exact_match": 0.5, "f1": 0.5}}} for name in HOSTILE}
    forgetting = plots.forgetting_figure(scores, {n: n for n in HOSTILE})
    runs = [a_record(f"lora-{i}", name=name, trainable_params=1000 * (i + 1), metrics={"rougeL": 0.2 + i / 100})
            for i, name in enumerate(HOSTILE)]
    efficiency = plots.efficiency_figure(runs)
    import pandas as pd
    topics = plots.topic_figure(pd.DataFrame({"topic": ["<a href='//x.io'>job</a>"]}))
    for fig in (loss, rouge, forgetting, efficiency, topics):
        for trace in fig.data:
            assert _markup_free(trace.name), trace.name
            for text in list(trace.text or []) + list(getattr(trace, "y", None) or []):
                assert not isinstance(text, str) or _markup_free(text), text
        for annotation in fig.layout.annotations:
            assert _markup_free(annotation.text), annotation.text
    # Shown as typed: the escapes are Plotly's entities for the same characters.
    assert "&lt;a href='//x.io'&gt;Q" in [t.name for t in loss.data]
    assert any("&lt;b&gt;BOLD&lt;/b&gt;" in (a.text or "") for a in efficiency.layout.annotations)
    # The legend's name fills the hover box: no user text is part of a hover template.
    assert all(HOSTILE[0] not in (t.hovertemplate or "") for t in loss.data + rouge.data)


def test_log_scale_labels_a_narrow_loss_range():
    """Losses from 3.5 to 2.1 hold no 1-2-5 value: the axis once showed no number at all."""
    for losses in ([3.5, 3.2, 3.0, 2.6, 2.3, 2.1], [10.4, 10.2, 10.0, 9.9], [0.31, 0.3, 0.29]):
        fig = plots.loss_figure({"LoRA": ("lora", _events(losses))}, log_scale=True)
        inside = [t for t in fig.layout.yaxis.tickvals if min(losses) <= t <= max(losses)]
        assert len(inside) >= 2, (losses, fig.layout.yaxis.tickvals)
        assert list(fig.layout.yaxis.ticktext) == [f"{t:g}" for t in fig.layout.yaxis.tickvals]
    assert plots.log_ticks([8.0, 0.6]) == [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]   # wide ranges keep 1-2-5


def _experiment_run(method, params, rouge, experiment="exp-20261204-020806-48ab"):
    label = {"full": "Full fine-tuning", "lora": "LoRA", "prompt": "Prompt tuning"}[method]
    return a_record(f"{method}-20261204-020806-{len(label):04x}", name=f"{experiment[4:]} {label}", method=method,
                    trainable_params=params, metrics={"rougeL": rouge}, experiment={"id": experiment})


def test_quality_vs_size_labels_are_short_names_inside_the_plot_and_apart():
    runs = [_experiment_run("full", 76_961_152, 0.31), _experiment_run("lora", 688_128, 0.30),
            _experiment_run("prompt", 10_240, 0.22),
            _experiment_run("full", 76_961_152, 0.305, "exp-20261204-030101-9a9a"),
            a_record("lora-20261204-030101-5555", trainable_params=688_128, metrics={"rougeL": 0.302}),
            a_record("lora-x", name="a LoRA run with a long name of its own", trainable_params=344_064,
                     metrics={"rougeL": 0.29})]
    fig = plots.efficiency_figure(runs)
    texts = [a.text for a in fig.layout.annotations]
    assert texts.count("exp 020806-48ab") == 3 and "exp 030101-9a9a" in texts and "030101-5555" in texts
    assert all(len(t) <= plots.POINT_NAME_CHARS for t in texts), texts
    x_range, y_range = list(fig.layout.xaxis.range), list(fig.layout.yaxis.range)
    scored = [r for r in runs]
    boxes = [box for _, box in plots.place_point_labels(scored, x_range, y_range)]
    width, height = plots.EFFICIENCY_PLOT_PX
    for i, box in enumerate(boxes):
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height, box
        assert not any(plots._overlap(box, other) for other in boxes[i + 1:]), boxes


def test_count_axes_tick_whole_examples_and_the_topic_title_counts_right():
    import pandas as pd
    one = pd.DataFrame({"topic": ["job interview"] * 3, "dialogue_length": [120, 140, 180],
                        "summary_length": [20, 25, 30]})
    topics = plots.topic_figure(one)
    assert topics.layout.title.text == "The one topic"
    assert topics.layout.xaxis.dtick == 1
    lengths = plots.length_figure(one)
    assert lengths.layout.yaxis.dtick == 1
    assert lengths.data[0].xbins == lengths.data[1].xbins   # shared bins: the two histograms compare
    many = pd.DataFrame({"topic": [f"t{i % 30}" for i in range(300)], "dialogue_length": range(300),
                         "summary_length": range(300)})
    assert plots.topic_figure(many).layout.title.text == "Top 20 of 30 topics"
    assert plots.topic_figure(many.head(60)).layout.title.text == "Top 20 of 30 topics"
    assert plots.topic_figure(many[many.topic.isin(["t1", "t2"])]).layout.title.text == "All 2 topics"
    assert plots.topic_figure(many, top=1).layout.title.text == "The most frequent of 30 topics"   # not "Top 1"
    assert plots.length_figure(many).layout.yaxis.dtick is None   # plenty: Plotly's own whole-number ticks


def test_forgetting_figure_where_nobody_answers_anything_says_so_instead_of_zeros():
    zero = {"per_task": {"arithmetic": {"exact_match": 0.0, "f1": 0.0}, "facts": {"exact_match": 0.0, "f1": 0.0}}}
    fig = plots.forgetting_figure({"original": zero, "lora-1": zero}, {"original": "Original", "lora-1": "LoRA"})
    assert [t.name for t in fig.data] == ["Original", "LoRA"]
    assert all(t.text is None for t in fig.data)
    assert any("No model answered" in (a.text or "") for a in fig.layout.annotations)
    some = {"per_task": {"arithmetic": {"exact_match": 0.5, "f1": 0.5}, "facts": {"exact_match": 0.0, "f1": 0.0}}}
    fig = plots.forgetting_figure({"original": some}, {"original": "Original"})
    assert list(fig.data[0].text) == ["50", "0"] and not fig.layout.annotations


# --- weight change: how far a run moved each matrix, and one update's singular values ---------------

WEIGHTS = {"changes_weights": True, "method": "lora", "rows": ["encoder 1", "decoder 1"],
           "columns": ["self-attn q", "self-attn k", "cross-attn q"],
           "grid": [[0.012, 0.0, None], [0.02, 0.0, 0.0005]]}


def test_weight_change_map_writes_each_cell_and_leaves_missing_ones_blank():
    fig = plots.weight_change_figure(WEIGHTS, HOSTILE[0])
    heatmap = fig.data[0]
    assert [list(row) for row in heatmap.z] == [[1.2, 0.0, None], [2.0, 0.0, 0.05]]
    assert [list(row) for row in heatmap.text] == [["1.2", "0", ""], ["2", "0", "0.05"]]
    assert heatmap.zmin == 0 and heatmap.zmax == 2.0 and heatmap.colorscale[-1][1] == plots.METHOD_COLORS["lora"]
    assert fig.layout.yaxis.autorange == "reversed"   # encoder 1 on top
    subtitle = fig.layout.title.subtitle.text
    assert "&lt;a href='//x.io'&gt;Q" in subtitle and _markup_free(subtitle)
    empty = plots.weight_change_figure({"changes_weights": False})
    assert "full fine-tuning or LoRA" in empty.layout.annotations[0].text.replace("<br>", " ")


def test_singular_values_mark_round_off_grey_and_lora_rank():
    values = {"matrix": "m", "values": [3.0, 2.0, 1e-9, 0.0], "tolerance": 1e-6, "numerical_rank": 2,
              "rank_limit": 2}
    fig = plots.singular_values_figure(values, "lora", HOSTILE[1])
    signal, noise = fig.data
    assert list(signal.x) == [1, 2] and list(signal.y) == [3.0, 2.0]
    assert list(noise.x) == [3, 4] and noise.y[1] == pytest.approx(3e-9) and noise.marker.color == plots.ROUND_OFF_COLOR
    assert fig.layout.yaxis.type == "log" and [s.x0 for s in fig.layout.shapes] == [2.5]
    assert _markup_free(fig.layout.title.subtitle.text) and "numerical rank 2 of 4" in fig.layout.title.subtitle.text
    full = plots.singular_values_figure({**values, "values": [3.0, 2.0, 1.0], "rank_limit": None}, "full")
    assert len(full.data) == 1 and not full.layout.shapes and not full.layout.showlegend
    zero = plots.singular_values_figure({**values, "values": [0.0, 0.0]}, "lora")
    assert not zero.data and "did not change" in zero.layout.annotations[0].text.replace("<br>", " ")
