"""Plotly figures for the studio: loss curves, ROUGE bars with error bars, efficiency, data stats.

    fig = loss_figure({"LoRA (this run)": events, "Full (earlier)": other_events})
    fig = rouge_figure(result.scores, result.labels)

Styled for a projector: large fonts, one colour per method used everywhere.
"""
from __future__ import annotations

import plotly.graph_objects as go

from .config import METHOD_LABELS

METHOD_COLORS = {"original": "#7f7f7f", "full": "#d62728", "lora": "#1f77b4", "prompt": "#2ca02c"}
# The title gets its own line above a horizontal legend: with a short top margin they overlap.
_LAYOUT = dict(template="plotly_white", font=dict(size=16), margin=dict(l=60, r=20, t=110, b=50),
               legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
_TITLE = dict(y=0.97, yanchor="top")


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=dict(text=title, **_TITLE), **_LAYOUT)
    fig.add_annotation(text=message, showarrow=False, font=dict(size=18, color="#888"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def loss_figure(curves: dict[str, tuple[str, list[dict]]], title: str = "Training loss",
                same_weight: bool = False) -> go.Figure:
    """curves: label -> (method, events). The first curve is drawn boldest (all alike with same_weight).

    Events with "loss" are training steps; events with "eval_loss" (the validation loss) get
    their own dashed line with markers in the curve's colour, so overfitting shows as the two part.
    """
    if not any(events for _, events in curves.values()):
        return _empty(title, "The loss curve appears here once training starts")
    fig = go.Figure()
    for index, (label, (method, events)) in enumerate(curves.items()):
        color = METHOD_COLORS.get(method, "#9467bd")
        bold = index == 0 or same_weight
        steps = [e["step"] for e in events if "loss" in e]
        losses = [e["loss"] for e in events if "loss" in e]
        fig.add_trace(go.Scatter(x=steps, y=losses, mode="lines", name=label,
                                 line=dict(color=color, width=4 if bold else 2, dash="solid" if bold else "dot"),
                                 opacity=1.0 if bold else 0.6))
        checks = [e for e in events if "eval_loss" in e]
        if checks:
            fig.add_trace(go.Scatter(x=[e["step"] for e in checks], y=[e["eval_loss"] for e in checks],
                                     mode="lines+markers", name=f"{label}: validation",
                                     line=dict(color=color, width=2, dash="dash"), marker=dict(size=9)))
    # showlegend: Plotly hides a lone curve's legend, but it says which run this is.
    fig.update_layout(title=dict(text=title, **_TITLE), xaxis_title="Step",
                      yaxis_title="Loss (summary tokens only)", showlegend=True, **_LAYOUT)
    return fig


def rouge_figure(scores: dict[str, dict], labels: dict[str, str], methods: dict[str, str] | None = None,
                 metrics=("rouge1", "rouge2", "rougeL")) -> go.Figure:
    """Grouped bars: one group per metric, one bar per model, 95% bootstrap error bars."""
    if not scores:
        return _empty("ROUGE", "Run an evaluation to see scores here")
    methods = methods or {}
    fig = go.Figure()
    for model, summary in scores.items():
        means = [100 * summary[m]["mean"] for m in metrics]
        fig.add_trace(go.Bar(
            name=labels.get(model, model), x=[m.replace("rouge", "ROUGE-") for m in metrics], y=means,
            marker_color=METHOD_COLORS.get(methods.get(model, model), None),
            error_y=dict(type="data", symmetric=False,
                         array=[100 * summary[m]["high"] - v for m, v in zip(metrics, means)],
                         arrayminus=[v - 100 * summary[m]["low"] for m, v in zip(metrics, means)]),
            text=[f"{v:.1f}" for v in means], textposition="outside"))
    fig.update_layout(title=dict(text="ROUGE F1 with 95% bootstrap intervals", **_TITLE), barmode="group",
                      yaxis_title="ROUGE F1 (×100)", **_LAYOUT)
    return fig


def efficiency_figure(runs: list[dict]) -> go.Figure:
    """Quality (ROUGE-L when known) against trainable parameters, log scale."""
    points = [r for r in runs if r.get("trainable_params") and (r.get("metrics") or {}).get("rougeL")]
    if not points:
        return _empty("Quality against trainable parameters", "Evaluate some runs to fill this chart")
    fig = go.Figure()
    for method in ("full", "lora", "prompt"):
        mine = [r for r in points if r.get("method") == method]
        if mine:
            fig.add_trace(go.Scatter(
                x=[r["trainable_params"] for r in mine], y=[100 * r["metrics"]["rougeL"] for r in mine],
                mode="markers+text", name=METHOD_LABELS[method], text=[r.get("name", r["run_id"])[:18] for r in mine],
                textposition="top center", marker=dict(size=16, color=METHOD_COLORS[method]),
                cliponaxis=False))  # point labels near the edge stay readable
    fig.update_layout(title=dict(text="Quality against trainable parameters", **_TITLE), xaxis_type="log",
                      xaxis_title="Trainable parameters (log scale)", yaxis_title="ROUGE-L (×100)", **_LAYOUT)
    return fig


def length_figure(table, unit: str = "tokens") -> go.Figure:
    if table is None or len(table) == 0:
        return _empty("Lengths", "No examples match")
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=table["dialogue_length"], name="Dialogue", opacity=0.75, marker_color="#1f77b4"))
    fig.add_trace(go.Histogram(x=table["summary_length"], name="Summary", opacity=0.75, marker_color="#ff7f0e"))
    fig.update_layout(title=dict(text=f"Length in {unit}", **_TITLE), barmode="overlay", xaxis_title=unit.capitalize(),
                      yaxis_title="Examples", **_LAYOUT)
    return fig


def topic_figure(table, top: int = 20) -> go.Figure:
    if table is None or len(table) == 0:
        return _empty("Topics", "No examples match")
    counts = table["topic"].replace("", "(none)").value_counts().head(top)[::-1]
    fig = go.Figure(go.Bar(x=counts.values, y=counts.index, orientation="h", marker_color="#2ca02c"))
    fig.update_layout(title=dict(text=f"Top {min(top, len(counts))} topics", **_TITLE), xaxis_title="Examples", **_LAYOUT)
    return fig
