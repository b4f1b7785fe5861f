"""Evaluate tab's ROUGE per topic group: counts, each model's ROUGE-L with its interval, small groups greyed."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from studio.service.engine import Studio

TOO_FEW_STYLE = "color: #9a9a9a; font-style: italic"


def topic_group_table(studio: Studio, result, names: dict[str, str]) -> tuple[pd.DataFrame, list[bool]]:
    """One row per topic group (largest first): dialogues, then ROUGE-L [95% interval] per model.

    Returns the table and, per row, whether the group has too few dialogues to say anything.
    """
    rows, too_few = [], []
    for group in studio.per_topic(result):
        row = {"Topic group": group["group"], "Dialogues": group["examples"]}
        for model, scores in group["scores"].items():
            s = scores["rougeL"]
            # A group too small to read gets its mean alone: a one-dialogue "interval" such as
            # [3.0, 3.0] would look like certainty where there is none.
            row[f"{names[model]} ROUGE-L"] = (f"{100 * s['mean']:.1f}" if group["too_few"] else
                                              f"{100 * s['mean']:.1f} [{100 * s['low']:.1f}, {100 * s['high']:.1f}]")
        if group["too_few"]:
            row["Topic group"] += " (too few to say)"
        rows.append(row)
        too_few.append(group["too_few"])
    return pd.DataFrame(rows), too_few


def styled(table: pd.DataFrame, too_few: list[bool]):
    """The table with too-small groups greyed out (a pandas Styler; tables render it as shown)."""
    return table.style.apply(lambda row: [TOO_FEW_STYLE if too_few[row.name] else ""] * len(row), axis=1)
