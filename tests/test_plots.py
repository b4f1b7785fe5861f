"""Figures: labels clear of whiskers, one decimal in every number shown, smoothing, log axes."""
from __future__ import annotations

import math
import re

import pytest

from studio import plots


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

