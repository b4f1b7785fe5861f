"""Plotly figures for the studio: loss curves, ROUGE bars with error bars, efficiency, data stats.

    fig = loss_figure({"LoRA (this run)": ("lora", events), "Full: quick": ("full", other_events)},
                      smoothing=10, log_scale=True)
    fig = rouge_figure(result.scores, labels, methods)

Styled for a projector and a phone: large fonts, one colour per method used everywhere, short
titles on their own line, the legend below the chart (where it can wrap without covering the
title or Plotly's toolbar), and every score written by studio.formatting.
"""
from __future__ import annotations

import math

import plotly.graph_objects as go

from .config import METHOD_LABELS
from .formatting import points, score_text, score_with_interval

METHOD_COLORS = {"original": "#7f7f7f", "full": "#d62728", "lora": "#1f77b4", "prompt": "#2ca02c"}
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
                             hovertemplate="step %{x}: %{y:.3f}<extra>" + label + "</extra>"))
    checks = [e for e in events if e.get("eval_loss") is not None and math.isfinite(float(e["eval_loss"]))]
    if checks:
        fig.add_trace(go.Scatter(x=[e["step"] for e in checks], y=[float(e["eval_loss"]) for e in checks],
                                 mode="lines+markers", name=f"{label}: validation", legendgroup=group,
                                 line={"color": color, "width": 2, "dash": "dash"}, marker={"size": 9},
                                 hovertemplate="step %{x}: %{y:.3f}<extra>validation</extra>"))
    return steps, losses


def log_ticks(values: list[float]) -> list[float]:
    """1-2-5 tick values spanning the positive values: Plotly's own log ticks label every digit
    in a small font, unreadable on a projector."""
    positive = [v for v in values if v > 0]
    if not positive:
        return []
    low, high = min(positive), max(positive)
    ticks = []
    for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for digit in (1, 2, 5):
            tick = float(f"{digit}e{exponent}")
            if low / 2.5 <= tick <= high * 2.5:  # one tick beyond each end, so the range has a label
                ticks.append(tick)
    return ticks


# --- ROUGE ---------------------------------------------------------------------------------------

def metric_name(metric: str) -> str:
    return metric.replace("rouge", "ROUGE-")


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
        label = labels.get(model, model)
        color = METHOD_COLORS.get(methods.get(model, model), None)
        means = [points(summary[m]["mean"]) for m in metrics]
        highs = [points(summary[m]["high"]) for m in metrics]
        lows = [points(summary[m]["low"]) for m in metrics]
        texts = [score_with_interval(summary[m]["mean"], summary[m]["low"], summary[m]["high"]) for m in metrics]
        fig.add_trace(go.Bar(
            name=label, y=names, x=means, orientation="h", marker_color=color,
            error_x={"type": "data", "symmetric": False, "array": [h - v for h, v in zip(highs, means)],
                     "arrayminus": [v - lo for v, lo in zip(means, lows)], "thickness": 2, "width": 5},
            customdata=texts, hovertemplate="%{y}: %{customdata}<extra>" + label + "</extra>"))
        for category, metric in enumerate(metrics):
            fig.add_annotation(x=highs[category] + gap, y=bar_centre(category, index, len(scores)),
                               text=score_text(summary[metric]["mean"]), showarrow=False, xanchor="left",
                               yanchor="middle", font={"size": LABEL_FONT_SIZE}, name=f"value {model} {metric}")
    fig.update_layout(title=_title("Mean ROUGE F1", "whisker: 95% bootstrap interval"),
                      barmode="group", bargap=BAR_GAP, bargroupgap=0, xaxis_title="ROUGE F1 (×100)",
                      legend_traceorder="normal", height=max(420, 200 + 24 * len(scores) * len(metrics)),
                      **_LAYOUT)
    # Room on the right for the labels beyond the longest whisker ("00.0" is about 12% of the axis).
    fig.update_xaxes(range=[0, top * 1.15 + 2 * gap])
    # ROUGE-1 on top and models in legend order within a group; the numeric range pins each
    # category k to k +- 0.5, which is what bar_centre assumes.
    fig.update_yaxes(range=[len(metrics) - 0.5, -0.5], ticksuffix=" ")
    return fig


def efficiency_figure(runs: list[dict]) -> go.Figure:
    """Quality (ROUGE-L when known) against trainable parameters, log scale."""
    scored = [r for r in runs if r.get("trainable_params") and (r.get("metrics") or {}).get("rougeL")]
    if not scored:
        return _empty("Quality vs. size", "Evaluate some runs to fill this chart")
    fig = go.Figure()
    for method in ("full", "lora", "prompt"):
        mine = [r for r in scored if r.get("method") == method]
        if mine:
            fig.add_trace(go.Scatter(
                x=[r["trainable_params"] for r in mine], y=[points(r["metrics"]["rougeL"]) for r in mine],
                mode="markers+text", name=METHOD_LABELS[method], text=[r.get("name", r["run_id"])[:18] for r in mine],
                textposition="top center", marker={"size": 16, "color": METHOD_COLORS[method]},
                customdata=[score_text(r["metrics"]["rougeL"]) for r in mine],
                hovertemplate="%{text}: ROUGE-L %{customdata}, %{x:,} trainable<extra></extra>",
                cliponaxis=False))  # point labels near the edge stay readable
    fig.update_layout(title=_title("Quality vs. size", "ROUGE-L against trainable parameters"), xaxis_type="log",
                      xaxis_dtick=1,  # decades only: Plotly's in-between digits crowd a phone
                      xaxis_title="Trainable parameters (log)", yaxis_title="ROUGE-L (×100)", **_LAYOUT)
    return fig


def length_figure(table, unit: str = "tokens") -> go.Figure:
    if table is None or len(table) == 0:
        return _empty("Lengths", "No examples match")
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=table["dialogue_length"], name="Dialogue", opacity=0.75, marker_color="#1f77b4"))
    fig.add_trace(go.Histogram(x=table["summary_length"], name="Summary", opacity=0.75, marker_color="#ff7f0e"))
    fig.update_layout(title=_title(f"Length in {unit}"), barmode="overlay", xaxis_title=unit.capitalize(),
                      yaxis_title="Examples", **_LAYOUT)
    return fig


def topic_figure(table, top: int = 20) -> go.Figure:
    if table is None or len(table) == 0:
        return _empty("Topics", "No examples match")
    counts = table["topic"].replace("", "(none)").value_counts().head(top)[::-1]
    fig = go.Figure(go.Bar(x=counts.values, y=counts.index, orientation="h", marker_color="#2ca02c",
                           showlegend=False))
    fig.update_layout(title=_title(f"Top {min(top, len(counts))} topics"), xaxis_title="Examples", **_LAYOUT)
    fig.update_yaxes(automargin=True)
    return fig


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
    names = [task.replace("_", " ") for task in tasks]
    fig = go.Figure()
    for model, result in scores.items():
        values = [100 * result["per_task"][task][metric] for task in tasks]
        fig.add_trace(go.Bar(name=labels.get(model, model), y=names, x=values, orientation="h",
                             marker_color=METHOD_COLORS.get(methods.get(model, model), None),
                             text=[f"{v:.0f}" for v in values], textposition="outside", cliponaxis=False))
    name = "exact match" if metric == "exact_match" else "word F1"
    fig.update_layout(title=_title(title, f"forgetting probe: % answered right ({name}) per task"),
                      barmode="group", bargap=BAR_GAP, bargroupgap=0, xaxis_range=[0, 110],
                      legend_traceorder="normal",  # the subtitle names the axis
                      height=max(420, 200 + 24 * len(scores) * len(tasks)), showlegend=True, **_LAYOUT)
    fig.update_yaxes(autorange="reversed", ticksuffix=" ")  # the first task on top, models in legend order
    return fig
