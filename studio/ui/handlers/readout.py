"""Runs tab's "What prompt tuning learned": each virtual token's nearest vocabulary tokens, as a table."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from studio.config.declare import shown
from studio.measure.prompt_readout import CAVEAT, MAX_TOP_K
from studio.model.methods import registry

from .queue import mark_yours

if TYPE_CHECKING:
    from studio.service.engine import Studio

DEFAULT_TOP_K = 5
CAVEAT_LINE = f"⚠️ {CAVEAT} “▁” marks the start of a word."


def prompt_run_choices(studio: Studio, owner: str | None = None) -> list[tuple[str, str]]:
    """(label, run id) for every soft-prompt run (prompt tuning) with a saved prompt, newest first; the person's
    own marked."""
    soft_prompts = {m.name for m in registry.METHODS if m.soft_prompt}
    return [(mark_yours(studio.run_label(r, method=False, details=True), studio.owns(r, owner)), r["run_id"])
            for r in studio.loadable_runs() if r.get("method") in soft_prompts]


def _top_k(value) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOP_K:
        raise ValueError(f"The number of nearest tokens must be a whole number from 1 to {MAX_TOP_K}, "
                         f"not {shown(value)}.")
    return value


def readout_table(studio: Studio, run_id, top_k=DEFAULT_TOP_K) -> pd.DataFrame:
    """One row per virtual token: its index, then its nearest tokens with their cosine, most similar first."""
    if not run_id or not isinstance(run_id, str):
        raise ValueError("Pick a prompt-tuning run first.")
    top_k = _top_k(top_k)
    result = studio.prompt_readout(run_id, top_k)
    rows = []
    for entry in result["virtual_tokens"]:
        row = {"Virtual token": entry["index"] + 1}
        if "part" in entry:
            row["Part"] = entry["part"]
        for rank, near in enumerate(entry["nearest"], 1):
            row[f"Nearest {rank}"] = f"{near['token']} ({near['cosine']:.2f})"
        rows.append(row)
    return pd.DataFrame(rows)
