"""Plotly figures for the studio: loss curves, ROUGE bars with error bars, efficiency, data stats.

    fig = loss_figure({"LoRA (this run)": ("lora", events), "Full: quick": ("full", other_events)},
                      smoothing=10, log_scale=True)
    fig = rouge_figure(result.scores, labels, methods)

Styled for a projector and a phone: large fonts, one colour per method used everywhere, short
titles on their own line, the legend below the chart (where it can wrap without covering the
title or Plotly's toolbar), and every score written by studio.formatting.
"""
from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from studio.config.settings import ORIGINAL
from studio.model.methods import registry
from studio.ui.formatting import points, score_text, score_with_interval, short_run_name

if TYPE_CHECKING:
    from studio.store.records import RunRecord

METHOD_COLORS = {ORIGINAL: "#7f7f7f", **{m.name: m.color for m in registry.METHODS}}   # each method declares its own
OTHER_COLOR = "#9467bd"
# Earlier runs of one method share its colour; the dash tells them apart.
EARLIER_DASHES = ("dot", "dash", "dashdot", "longdash", "longdashdot")
FONT_SIZE = 16
LABEL_FONT_SIZE = 15
# A phone shows about this many characters of a title or message at FONT_SIZE; longer text wraps.
NARROW_CHARS = 30
TOOLBAR_PX = 34  # height of Plotly's toolbar row, top right of every chart

# The legend sits at the bottom of the figure: at the top it wraps into the title on a phone, and
# Plotly's toolbar appears over the top right corner. Placed against the container (not the plot
# area, whose height varies), it stays clear of the x-axis title, and Plotly grows the bottom
# margin to fit however many lines it wraps to.
_LEGEND = {"orientation": "h", "xref": "container", "x": 0.02, "xanchor": "left",
           "yref": "container", "y": 0.01, "yanchor": "bottom"}
_LAYOUT = {"template": "plotly_white", "font": {"size": FONT_SIZE},
           "margin": {"l": 60, "r": 20, "t": 50 + TOOLBAR_PX, "b": 50}, "legend": _LEGEND}


def as_text(value) -> str:
    """User text (a run's name, a topic) as Plotly must be given it to show it as typed.

    Plotly renders its own HTML subset in titles, labels, legends and hovers (<a href>, <b>,
    <br>, <span style>), so a run named "<a href='//x.io'>Q" would be a live link on every
    visitor's page. Escaped, Plotly shows the characters. Hover templates also read "%{...}"
    as a field, so "%" is written as its entity too.
    """
    return html.escape(str(value), quote=False).replace("%", "&#37;")


def wrap(text: str, width: int = NARROW_CHARS) -> str:
    """Break text at spaces into lines of at most `width` characters, joined by Plotly's <br>."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _title(text: str, subtitle: str | None = None) -> dict:
    # y=1 with a top pad: the title starts below the row where Plotly's toolbar appears, so on a
    # phone the toolbar never sits on the title's words.
    title = {"text": text, "x": 0.02, "xref": "container", "xanchor": "left",
             "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": TOOLBAR_PX},
             "font": {"size": FONT_SIZE + 4}, "automargin": True}
    if subtitle:
        title["subtitle"] = {"text": subtitle, "font": {"size": FONT_SIZE - 2, "color": "#555"}}
    return title


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=_title(title), **_LAYOUT)
    fig.add_annotation(text=wrap(message), showarrow=False, font={"size": FONT_SIZE + 1, "color": "#666"},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


# --- loss curves ---------------------------------------------------------------------------------

def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing mean over the last `window` values (fewer at the start), one output per input.

    Trailing, not centred: the smoothed curve at step s uses only losses up to s, so it never
    shows a drop before the raw loss has made it. window <= 1 returns the values unchanged.
    """
    window = int(window)
    if window <= 1:
        return [float(v) for v in values]
    out, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        out.append(total / min(index + 1, window))
    return out


def step_losses(events: list[dict]) -> tuple[list[int], list[float]]:
    """(steps, losses) from a run's step events, skipping events that carry no finite loss."""
    pairs = [(e["step"], float(e["loss"])) for e in events
             if e.get("loss") is not None and math.isfinite(float(e["loss"])) and "step" in e]
    return [s for s, _ in pairs], [loss for _, loss in pairs]


SHORT_RUN_STEPS = 10  # up to here the loss chart ticks every step


def loss_figure(curves: dict[str, tuple[str, list[dict]]], title: str = "Training loss",
                smoothing: int = 1, log_scale: bool = False, same_weight: bool = False) -> go.Figure:
    """curves: label -> (method, events), any number of runs. The first curve is drawn boldest
    (all alike with same_weight: the runs of one experiment).

    Events with "eval_loss" (the validation loss) get their own dashed line with markers in the
    curve's colour, beside its training loss, so overfitting shows as the two lines part.

    smoothing > 1 draws each curve as a moving average over that many steps, with its raw points
    faint behind it (same colour, one legend entry for both). log_scale puts the loss on a log axis,
    where the slow late decline stays visible next to the steep start.
    """
    if not any(events for _, events in curves.values()):
        return _empty(title, "The loss curve appears here once training starts")
    fig = go.Figure()
    dash_used: dict[str, int] = {}   # earlier runs of one method take turns through EARLIER_DASHES
    all_steps: list[int] = []
    all_losses: list[float] = []   # every curve's, for the axes
    for index, (label, (method, events)) in enumerate(curves.items()):
        if index == 0 or same_weight:
            dash, width = "solid", 4
        else:
            dash = EARLIER_DASHES[dash_used.get(method, 0) % len(EARLIER_DASHES)]
            dash_used[method] = dash_used.get(method, 0) + 1
            width = 2.5
        steps, losses = _add_curve(fig, f"curve-{index}", label, METHOD_COLORS.get(method, OTHER_COLOR), events,
                                   smoothing, {"width": width, "dash": dash})
        all_steps += steps
        all_losses += losses
    subtitle = f"moving average over {smoothing} steps; raw loss faint" if smoothing > 1 else None
    # showlegend: Plotly hides a lone curve's legend, but it says which run this is.
    fig.update_layout(title=_title(title, subtitle), xaxis_title="Step", yaxis_title="Loss", showlegend=True,
                      **_LAYOUT)
    fig.update_yaxes(type="linear")
    # Steps are whole numbers: a short run gets a tick at every step, not Plotly's 1, 1.5, 2, 2.5.
    # From about ten steps on, Plotly's own ticks are whole numbers already.
    if max(all_steps, default=0) <= SHORT_RUN_STEPS:
        fig.update_xaxes(dtick=1)
    if log_scale:
        ticks = log_ticks(all_losses)
        fig.update_yaxes(type="log", title_text="Loss (log scale)", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
    return fig


def _add_curve(fig: go.Figure, group: str, label: str, color: str, events: list[dict], smoothing: int,
               line: dict) -> tuple[list[int], list[float]]:
    """One run's traces: its training loss (smoothed over its faint raw points when smoothing > 1)
    and, where it has any, its validation loss dashed with markers. Returns its raw steps and losses."""
    label = as_text(label)
    steps, losses = step_losses(events)
    if smoothing > 1:
        fig.add_trace(go.Scatter(x=steps, y=losses, mode="lines", name=f"{label} (raw)", legendgroup=group,
                                 showlegend=False, hoverinfo="skip", opacity=0.25,
                                 line={"color": color, "width": 1.5}))
        shown = moving_average(losses, smoothing)
    else:
        shown = losses
    fig.add_trace(go.Scatter(x=steps, y=shown, mode="lines", name=label, legendgroup=group,
                             line={"color": color, **line},
                             hovertemplate="step %{x}: %{y:.3f}<extra>%{fullData.name}</extra>"))
    checks = [e for e in events if e.get("eval_loss") is not None and math.isfinite(float(e["eval_loss"]))]
    if checks:
        fig.add_trace(go.Scatter(x=[e["step"] for e in checks], y=[float(e["eval_loss"]) for e in checks],
                                 mode="lines+markers", name=f"{label}: validation", legendgroup=group,
                                 line={"color": color, "width": 2, "dash": "dash"}, marker={"size": 9},
                                 hovertemplate="step %{x}: %{y:.3f}<extra>validation</extra>"))
    return steps, losses


MIN_LOG_TICKS = 3   # a log axis shows at least this many labelled ticks inside its data


def log_ticks(values: list[float]) -> list[float]:
    """Tick values for a log axis over the positive values: Plotly's own log ticks label every
    digit in a small font, unreadable on a projector.

    1-2-5 per decade where that puts at least MIN_LOG_TICKS inside the data; every digit where it
    does not; and, for a narrow range such as losses from 2.1 to 3.5 (where neither lands inside,
    so the axis showed no number at all), evenly spaced rounded values across it. One tick beyond
    each end is kept, so the range has a label wherever Plotly ends it.
    """
    positive = [v for v in values if v > 0]
    if not positive:
        return []
    low, high = min(positive), max(positive)
    for digits in ((1, 2, 5), range(1, 10)):
        ticks = [float(f"{digit}e{exponent}")
                 for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
                 for digit in digits]
        inside = [t for t in ticks if low <= t <= high]
        if len(inside) >= MIN_LOG_TICKS or (high / low < 1.001 and inside):
            return [t for t in ticks if low / 2.5 <= t <= high * 2.5]
    return _even_ticks(low, high)


def _even_ticks(low: float, high: float) -> list[float]:
    """About five round values from `low` to `high`, one step beyond each end (all positive)."""
    if high <= low:
        return [float(f"{low:.2g}")]
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    count = math.ceil((high - first) / step) + 1
    ticks = [round(first + i * step, 10) for i in range(-1, count + 1)]
    return [t for t in ticks if t > 0]


# --- ROUGE ---------------------------------------------------------------------------------------

def metric_name(metric: str) -> str:
    return "BLEU" if metric == "bleu" else metric.replace("rouge", "ROUGE-")


BAR_GAP = 0.2  # between metric groups, as a fraction of a category's slot (Plotly's default, made explicit)


def bar_centre(category: int, index: int, count: int) -> float:
    """Where bar `index` of `count` grouped bars sits on a category axis (category k spans k +- 0.5)."""
    width = (1 - BAR_GAP) / count
    return category - (1 - BAR_GAP) / 2 + (index + 0.5) * width


def rouge_figure(scores: dict[str, dict], labels: dict[str, str], methods: dict[str, str] | None = None,
                 metrics=("rouge1", "rouge2", "rougeL")) -> go.Figure:
    """Grouped horizontal bars: one group per metric, one bar per model, 95% bootstrap error bars.

    Horizontal, so every bar has a row of its own: each value is written just right of its
    whisker's end (an annotation at the bar's centre line) and never touches the whisker or a
    neighbour's label, on a projector or a phone. The hover gives the interval as well.
    """
    if not scores:
        return _empty("ROUGE", "Run an evaluation to see scores here")
    methods = methods or {}
    names = [metric_name(m) for m in metrics]
    top = max(points(summary[m]["high"]) or 0.0 for summary in scores.values() for m in metrics)
    gap = max(top, 1.0) * 0.02  # between the whisker's end and the label
    fig = go.Figure()
    for index, (model, summary) in enumerate(scores.items()):
        label = as_text(labels.get(model, model))
        color = METHOD_COLORS.get(methods.get(model, model), None)
        means = [points(summary[m]["mean"]) for m in metrics]
        highs = [points(summary[m]["high"]) for m in metrics]
        lows = [points(summary[m]["low"]) for m in metrics]
        texts = [score_with_interval(summary[m]["mean"], summary[m]["low"], summary[m]["high"]) for m in metrics]
        fig.add_trace(go.Bar(
            name=label, y=names, x=means, orientation="h", marker_color=color,
            error_x={"type": "data", "symmetric": False, "array": [h - v for h, v in zip(highs, means)],
                     "arrayminus": [v - lo for v, lo in zip(means, lows)], "thickness": 2, "width": 5},
            customdata=texts, hovertemplate="%{y}: %{customdata}<extra>%{fullData.name}</extra>"))
        for category, metric in enumerate(metrics):
            fig.add_annotation(x=highs[category] + gap, y=bar_centre(category, index, len(scores)),
                               text=score_text(summary[metric]["mean"]), showarrow=False, xanchor="left",
                               yanchor="middle", font={"size": LABEL_FONT_SIZE}, name=f"value {model} {metric}")
    with_bleu = "bleu" in metrics   # corpus BLEU (sacrebleu) beside the mean ROUGE F1, on the same 0-100 scale
    fig.update_layout(title=_title("Mean ROUGE F1 and corpus BLEU" if with_bleu else "Mean ROUGE F1",
                                   "whisker: 95% bootstrap interval"),
                      barmode="group", bargap=BAR_GAP, bargroupgap=0,
                      xaxis_title="ROUGE F1 and BLEU (×100)" if with_bleu else "ROUGE F1 (×100)",
                      legend_traceorder="normal", height=max(420, 200 + 24 * len(scores) * len(metrics)),
                      **_LAYOUT)
    # Room on the right for the labels beyond the longest whisker ("00.0" is about 12% of the axis).
    fig.update_xaxes(range=[0, top * 1.15 + 2 * gap])
    # ROUGE-1 on top and models in legend order within a group; the numeric range pins each
    # category k to k +- 0.5, which is what bar_centre assumes.
    fig.update_yaxes(range=[len(metrics) - 0.5, -0.5], ticksuffix=" ")
    return fig


# Point labels of "Quality vs. size" are placed by estimate, in pixels, on the smallest plot area
# the chart gets (a phone's): farther apart on anything wider or taller, since a label's size is
# fixed while the distance between points grows with the plot. The axes' ranges are fixed too,
# so that estimate knows where each point lands.
EFFICIENCY_HEIGHT = 480
EFFICIENCY_PLOT_PX = (280, 200)   # width, height: at most what a 390 px phone leaves for the plot
LABEL_CHAR_PX = 9                 # a generous average width of one character at LABEL_FONT_SIZE
LABEL_HEIGHT_PX = 20
LABEL_GAP_PX = 10                 # between a marker's centre and its label
MARKER_PX = 16
POINT_NAME_CHARS = 18


def efficiency_figure(runs: list[RunRecord]) -> go.Figure:
    """Quality (ROUGE-L when known) against trainable parameters, log scale; each point labelled
    with the run's short name, placed inside the plot and clear of the other labels and points."""
    scored = [r for r in runs if r.trainable_params and r.rouge_l]
    if not scored:
        return _empty("Quality vs. size", "Evaluate some runs to fill this chart")
    fig = go.Figure()
    for method in registry.METHODS:
        mine = [r for r in scored if r.method == method.name]
        if mine:
            fig.add_trace(go.Scatter(
                x=[r.trainable_params for r in mine], y=[points(r.rouge_l) for r in mine],
                mode="markers", name=method.label, marker={"size": MARKER_PX, "color": method.color},
                text=[as_text(short_run_name(r, POINT_NAME_CHARS)) for r in mine],
                customdata=[score_text(r.rouge_l) for r in mine],
                hovertemplate="%{text}: ROUGE-L %{customdata}, %{x:,} trainable<extra></extra>"))
    x_range, y_range = _efficiency_ranges(scored)
    for annotation, _box in place_point_labels(scored, x_range, y_range):
        fig.add_annotation(**annotation)
    fig.update_layout(title=_title("Quality vs. size", "ROUGE-L against trainable parameters"), xaxis_type="log",
                      xaxis_dtick=1,  # decades only: Plotly's in-between digits crowd a phone
                      xaxis_range=x_range, yaxis_range=y_range, height=EFFICIENCY_HEIGHT,
                      xaxis_title="Trainable parameters (log)", yaxis_title="ROUGE-L (×100)", **_LAYOUT)
    return fig


def _efficiency_ranges(scored: list[RunRecord]) -> tuple[list[float], list[float]]:
    """The axes' ranges (x in decades, as Plotly's log axis takes them), with room around the points."""
    xs = [math.log10(r.trainable_params) for r in scored]
    ys = [points(r.rouge_l) for r in scored]
    x_pad = max(0.5, (4 - (max(xs) - min(xs))) / 2)   # at least four decades wide: labels need the room
    y_pad = max(2.0, (max(ys) - min(ys)) * 0.25)
    return [min(xs) - x_pad, max(xs) + x_pad], [max(0.0, min(ys) - y_pad), max(ys) + y_pad]


def _label_candidates(width: float):
    """Offsets (left, top) of a label box from its point, in pixels, in the order they are tried:
    right, left, above, below, then further out: a row up or down on either side, and so on."""
    half_w, half_h = width / 2, LABEL_HEIGHT_PX / 2
    right, left = LABEL_GAP_PX, -LABEL_GAP_PX - width
    yield right, -half_h
    yield left, -half_h
    for rows in range(0, 6):
        yield -half_w, -LABEL_GAP_PX - LABEL_HEIGHT_PX * (rows + 1)
        yield -half_w, LABEL_GAP_PX + LABEL_HEIGHT_PX * rows
        for side in (right, left):
            yield side, -half_h - LABEL_HEIGHT_PX * (rows + 1)
            yield side, -half_h + LABEL_HEIGHT_PX * (rows + 1)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_point_labels(scored: list[RunRecord], x_range, y_range,
                       plot_px=EFFICIENCY_PLOT_PX) -> list[tuple[dict, tuple]]:
    """(annotation, box) per run: its short name, in the first spot (see _label_candidates) that lies
    inside the plot and touches no other label or marker, on a plot of `plot_px` pixels; box is the
    label's estimated (left, top, right, bottom) in those pixels.
    """
    width_px, height_px = plot_px

    def pixel(run):
        x = (math.log10(run.trainable_params) - x_range[0]) / (x_range[1] - x_range[0]) * width_px
        y = (y_range[1] - points(run.rouge_l)) / (y_range[1] - y_range[0]) * height_px
        return x, y

    centres = [pixel(r) for r in scored]
    half = MARKER_PX / 2
    taken = [(x - half, y - half, x + half, y + half) for x, y in centres]
    out = []
    for run, (px, py) in sorted(zip(scored, centres), key=lambda pair: pair[1][1]):  # top to bottom
        text = short_run_name(run, POINT_NAME_CHARS)
        width = LABEL_CHAR_PX * len(text)
        boxes = [(px + dx, py + dy, px + dx + width, py + dy + LABEL_HEIGHT_PX) for dx, dy in _label_candidates(width)]
        inside = [b for b in boxes if b[0] >= 0 and b[1] >= 0 and b[2] <= width_px and b[3] <= height_px]
        box = next((b for b in inside if not any(_overlap(b, t) for t in taken)), (inside or boxes)[0])
        taken.append(box)
        # A faint line from the point to its label (Plotly's arrow: the head at the point, the label
        # at the tail, placed by its left edge and vertical middle), so a label moved a few rows
        # away still says whose it is.
        out.append(({"x": math.log10(run.trainable_params), "y": points(run.rouge_l),
                     "text": as_text(text), "showarrow": True, "arrowhead": 0, "arrowwidth": 1,
                     "arrowcolor": "#999", "standoff": MARKER_PX / 2, "xanchor": "left", "yanchor": "middle",
                     "ax": box[0] - px, "ay": (box[1] + box[3]) / 2 - py,
                     "font": {"size": LABEL_FONT_SIZE}, "name": f"label {run.run_id}"}, box))
    return out


# Up to this many examples on a count axis, it ticks every whole number: Plotly's own ticks for
# small counts are 0.5, 1, 1.5 "examples". From there on its ticks are whole numbers already.
SMALL_COUNT = 6


def _count_axis(peak: int) -> dict:
    """Axis settings for a count of examples whose largest value is `peak`."""
    return {"dtick": 1, "tick0": 0} if peak <= SMALL_COUNT else {}


def length_figure(table, unit: str = "tokens") -> go.Figure:
    """Overlaid histograms of dialogue and summary lengths, on shared bins (so their bars compare)."""
    if table is None or len(table) == 0:
        return _empty("Lengths", "No examples match")
    lengths = {"Dialogue": table["dialogue_length"], "Summary": table["summary_length"]}
    edges = np.histogram_bin_edges(pd.concat(list(lengths.values())).to_numpy(dtype=float), bins="auto")
    size = float(edges[1] - edges[0]) if len(edges) > 1 and edges[1] > edges[0] else 1.0
    bins = {"start": float(edges[0]), "end": float(edges[-1]) + size / 2, "size": size}
    fig = go.Figure()
    for (name, values), color in zip(lengths.items(), ("#1f77b4", "#ff7f0e")):
        fig.add_trace(go.Histogram(x=values, name=name, opacity=0.75, marker_color=color, xbins=bins,
                                   autobinx=False))
    peak = max(int(np.histogram(values, bins=np.arange(bins["start"], bins["end"] + size, size))[0].max())
               for values in lengths.values())
    fig.update_layout(title=_title(f"Length in {unit}"), barmode="overlay", xaxis_title=unit.capitalize(),
                      yaxis_title="Examples", **_LAYOUT)
    fig.update_yaxes(**_count_axis(peak))
    return fig


def _topic_title(shown: int, total: int) -> str:
    if shown == total:
        return "The one topic" if total == 1 else f"All {total} topics"
    if shown == 1:
        return f"The most frequent of {total:,} topics"
    return f"Top {shown} of {total:,} topics"


def topic_figure(table, top: int = 20) -> go.Figure:
    if table is None or len(table) == 0:
        return _empty("Topics", "No examples match")
    every = table["topic"].replace("", "(none)").value_counts()
    counts = every.head(top)[::-1]
    fig = go.Figure(go.Bar(x=counts.values, y=[as_text(topic) for topic in counts.index], orientation="h",
                           marker_color="#2ca02c",
                           showlegend=False))
    fig.update_layout(title=_title(_topic_title(len(counts), len(every))), xaxis_title="Examples", **_LAYOUT)
    fig.update_xaxes(**_count_axis(int(counts.max())))
    fig.update_yaxes(automargin=True)
    return fig


NOTHING_RIGHT = "No model answered any question right: there is no forgetting to see on this model"


def forgetting_figure(scores: dict[str, dict], labels: dict[str, str], methods: dict[str, str] | None = None,
                      metric: str = "exact_match") -> go.Figure:
    """Grouped horizontal bars: one group per probe task, one bar per model; `scores` is run_probe()'s "scores".

    Horizontal like the ROUGE chart: every bar has a row of its own, so its value label never
    runs into a neighbour's (upright bars on a phone wrote "0000" for four models' zeros).
    """
    title = "What each model still knows"
    if not scores:
        return _empty(title, "Run the forgetting probe to see what each model kept")
    methods = methods or {}
    tasks = list(next(iter(scores.values()))["per_task"])
    names = [as_text(task.replace("_", " ")) for task in tasks]
    fig = go.Figure()
    nothing_right = True
    for model, result in scores.items():
        values = [100 * result["per_task"][task][metric] for task in tasks]
        nothing_right = nothing_right and not any(values)
        fig.add_trace(go.Bar(name=as_text(labels.get(model, model)), y=names, x=values, orientation="h",
                             marker_color=METHOD_COLORS.get(methods.get(model, model), None),
                             text=[f"{v:.0f}" for v in values], textposition="outside", cliponaxis=False))
    if nothing_right:  # a column of "0"s by empty bars reads as a result; say what it means instead
        fig.update_traces(text=None)
        fig.add_annotation(text=wrap(NOTHING_RIGHT), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                           font={"size": FONT_SIZE + 1, "color": "#666"}, bgcolor="rgba(255,255,255,0.85)",
                           name="nothing right")
    name = "exact match" if metric == "exact_match" else "word F1"
    fig.update_layout(title=_title(title, f"forgetting probe: % answered right ({name}) per task"),
                      barmode="group", bargap=BAR_GAP, bargroupgap=0, xaxis_range=[0, 110],
                      legend_traceorder="normal",  # the subtitle names the axis
                      height=max(420, 200 + 24 * len(scores) * len(tasks)), showlegend=True, **_LAYOUT)
    fig.update_yaxes(autorange="reversed", ticksuffix=" ")  # the first task on top, models in legend order
    return fig


# --- weight change: how far a run moved each matrix, and one update's singular values ---------------

WEIGHT_ROW_PX = 34        # one layer's row of the map: room for a cell's number in LABEL_FONT_SIZE
ROUND_OFF_COLOR = "#bbbbbb"
MAX_LOG_DECADE_LABELS = 7   # a log axis over many decades labels every second or third one


def _cell_text(value) -> str:
    if value is None:
        return ""
    return "0" if value == 0 else f"{value:.2g}"


def weight_change_figure(result: dict, run_label: str = "") -> go.Figure:
    """Layers x matrices heatmap of a weight_change() result: each cell is ||ΔW|| / ||W|| in %.

    White is no change, the method's colour the largest; a cell a layer does not have (the
    encoder has no cross-attention) is left blank. Each cell writes its number, so the map
    reads without the colour bar from the back of a room.
    """
    title = "Where training changed the weights"
    if not result.get("changes_weights") or not result.get("grid"):
        return _empty(title, "Pick a full fine-tuning or LoRA run to see its change")
    z = [[None if v is None else 100 * v for v in row] for row in result["grid"]]
    peak = max((v for row in z for v in row if v is not None), default=0.0)
    color = METHOD_COLORS.get(result.get("method"), OTHER_COLOR)
    fig = go.Figure(go.Heatmap(
        z=z, x=result["columns"], y=result["rows"], zmin=0, zmax=peak if peak > 0 else 1,
        colorscale=[[0, "#ffffff"], [1, color]], xgap=2, ygap=2, hoverongaps=False,
        text=[[_cell_text(v) for v in row] for row in z], texttemplate="%{text}",
        textfont={"size": LABEL_FONT_SIZE - 2},
        colorbar={"title": {"text": "% change", "side": "right"}, "thickness": 14},
        hovertemplate="%{y} · %{x}<br>changed by %{z:.3g}% of its size<extra></extra>"))
    subtitle = "||W_tuned − W_base|| / ||W_base|| per matrix, in %"
    if run_label:
        subtitle = f"{as_text(run_label)}: {subtitle}"
    fig.update_layout(title=_title(title, subtitle), height=max(360, 190 + WEIGHT_ROW_PX * len(result["rows"])),
                      **{**_LAYOUT, "margin": {**_LAYOUT["margin"], "l": 110}})
    fig.update_yaxes(autorange="reversed", ticksuffix=" ")   # the first encoder layer on top
    fig.update_xaxes(side="bottom", tickangle=-35)
    return fig


def singular_values_figure(values: dict, method: str | None = None, matrix_label: str = "") -> go.Figure:
    """The singular values of one update on a log axis, largest first; round-off grey, LoRA's r marked.

    `values` is weight_change's "singular_values". Values at or below its tolerance are float32
    round-off of a zero: drawn grey (a log axis has no 0, so they sit at a floor far below).
    """
    title = "Singular values of the update"
    found = values.get("values") or []
    peak = max(found, default=0.0)
    if peak <= 0:
        return _empty(title, "This matrix did not change: its update is zero, so it has no singular values")
    floor = peak * 1e-9
    shown = [max(v, floor) for v in found]
    index = list(range(1, len(found) + 1))
    tolerance = values.get("tolerance") or 0.0
    signal = [i for i, v in enumerate(found) if v > tolerance]
    noise = [i for i, v in enumerate(found) if v <= tolerance]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[index[i] for i in signal], y=[shown[i] for i in signal], mode="lines+markers",
                             name="the update's directions", line={"color": METHOD_COLORS.get(method, OTHER_COLOR),
                                                                    "width": 3}, marker={"size": 6},
                             hovertemplate="no. %{x}: %{y:.3g}<extra></extra>"))
    if noise:
        fig.add_trace(go.Scatter(x=[index[i] for i in noise], y=[shown[i] for i in noise], mode="markers",
                                 name="round-off (really 0)", marker={"size": 6, "color": ROUND_OFF_COLOR},
                                 hovertemplate="no. %{x}: %{y:.3g} (round-off)<extra></extra>"))
    limit = values.get("rank_limit")
    if limit and limit < len(found):
        fig.add_vline(x=limit + 0.5, line={"color": "#444", "dash": "dash", "width": 2})
        fig.add_annotation(x=limit + 0.5, y=1, yref="paper", xanchor="left", yanchor="top", showarrow=False,
                           text=f" r = {limit}", font={"size": LABEL_FONT_SIZE}, name="rank limit")
    decades = math.log10(peak / min(shown))
    subtitle = f"numerical rank {values.get('numerical_rank')} of {len(found)}"
    if matrix_label:
        subtitle = f"{as_text(matrix_label)}: {subtitle}"
    fig.update_layout(title=_title(title, subtitle), height=420, showlegend=bool(noise),
                      xaxis_title="singular value no. (largest first)", **_LAYOUT)
    fig.update_yaxes(type="log", dtick=max(1, math.ceil(decades / MAX_LOG_DECADE_LABELS)), exponentformat="power")
    return fig
