"""How scores, gains, intervals and counts are written: the same way in every chart and table.

    score_text(0.2345)              -> "23.5"          ROUGE F1 as points (x100), one decimal
    gain_text(0.012)                -> "+1.2"
    interval_text(0.21, 0.26)       -> "21.0–26.0"
    score_with_interval(0.23, 0.21, 0.26) -> "23.0 (21.0–26.0)"
    count_text(1)                   -> "1 dialogue"

ROUGE is stored as F1 in [0, 1] and shown in points (x100) with one decimal everywhere, so a
table never says "3" where a chart says "3.0". Missing values (None, NaN) read as an en dash.
"""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.store.records import RunRecord

DECIMALS = 1
MISSING = "–"


def points(value) -> float | None:
    """F1 in [0, 1] -> ROUGE points rounded like the text; None for missing values."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    # + 0.0 turns -0.0 into 0.0, so a tiny negative gain is never written "-0.0".
    return round(100 * value, DECIMALS) + 0.0


def score_text(value) -> str:
    shown = points(value)
    return MISSING if shown is None else f"{shown:.{DECIMALS}f}"


def gain_text(value) -> str:
    """A difference in points with its sign always written: "+1.2", "-0.4", "+0.0"."""
    shown = points(value)
    return MISSING if shown is None else f"{shown:+.{DECIMALS}f}"


def interval_text(low, high, signed: bool = False) -> str:
    """A 95% interval as "low–high" in points; signed for gains ("-0.5–+2.0" reads badly, so brackets)."""
    if points(low) is None or points(high) is None:
        return MISSING
    if signed:
        return f"[{gain_text(low)}, {gain_text(high)}]"
    return f"{score_text(low)}–{score_text(high)}"


def score_with_interval(mean, low, high) -> str:
    text = score_text(mean)
    bounds = interval_text(low, high)
    return text if bounds == MISSING else f"{text} ({bounds})"


def count_text(count: int, noun: str = "dialogue") -> str:
    count = int(count)
    return f"{count} {noun}" + ("" if count == 1 else "s")


# A run's id reads "<method>-YYYYMMDD-HHMMSS-<4 hex>"; an experiment's "exp-YYYYMMDD-HHMMSS-<4 hex>".
_STAMPED_ID = re.compile(r"^(?:[a-z]+-)?\d{8}-(\d{6}-[0-9a-f]{4})")


def short_run_name(record: RunRecord, width: int = 24) -> str:
    """A run's name short enough for a chart's point label or legend, still telling runs apart.

    An experiment names its runs "<experiment id> <method>" and an unnamed run shows its id:
    both start with a date every run of the day shares, and the method is said by the colour
    and the legend already, so "exp 020806-48ab" (the time and the tag) is what tells them apart.
    Other names are cut at `width` with an ellipsis.
    """
    name = record.name or record.run_id
    experiment = record.experiment_id or ""
    stamp = _STAMPED_ID.match(experiment)
    if stamp and name.startswith(experiment[len("exp-"):]):
        name = f"exp {stamp.group(1)}"
    elif name == record.run_id and _STAMPED_ID.match(name):
        name = _STAMPED_ID.match(name).group(1)
    return name if len(name) <= width else name[:width - 1].rstrip() + "…"


def pairs_text(asked, used) -> str:
    """The training pairs a budget used: "48 pairs (400 asked; the split has no more)" when the subset
    size was a cap the data did not reach, else "48 pairs". `used` None: only what was asked is known."""
    if used is None:
        return f"{asked:,} pairs" if isinstance(asked, int) else "all pairs"
    if isinstance(asked, int) and asked > used:
        return f"{used:,} pairs ({asked:,} asked; the split has no more)"
    return f"{used:,} pairs"
