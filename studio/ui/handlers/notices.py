"""The header's notes: the notice above the tabs (one short plain sentence per fact, the details, raw errors
and commands, apart), and the demo's preparation progress."""
from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from .common import plain

if TYPE_CHECKING:
    from studio.service.engine import Studio

PREFETCH = ("To get the real model and data: run `python -m studio prefetch` once while online, or set "
            "STUDIO_BASE_MODEL to a local model folder.")


def notice_facts(studio: Studio) -> tuple[list[str], list[str]]:
    """(headlines, details): plain sentences a room can read, and what an operator needs to act on them."""
    headlines, details = [], []
    for note in studio.notices:
        if note == studio.base.notice and studio.base.is_standin:
            headlines.append("Offline: a tiny stand-in model replaces FLAN-T5, so summaries show how "
                             "tuning works, not real quality.")
        elif studio.data.is_sample and "dataset" in note.lower():
            headlines.append("The DialogSum dataset is not available here; a bundled sample of dialogues "
                             "stands in for it.")
        else:
            headlines.append(_first_sentence(note))
        details.append(_without_prefetch(note))
    if studio.interrupted:
        count = len(studio.interrupted)
        headlines.append(f"{count} run{'s were' if count > 1 else ' was'} interrupted when the studio last "
                         "stopped; the Runs tab lists them.")
    never = getattr(studio, "never_started", [])
    if never:
        headlines.append(f"{len(never)} queued training{'s' if len(never) > 1 else ''} never started before the "
                         "studio last stopped; the Runs tab lists them, to start again.")
    if any("prefetch" in note for note in studio.notices):
        details.append(PREFETCH)
    return headlines, [d for d in details if d]


def console_line(studio: Studio) -> str:
    """One line for the operator's console at start: offline and on the stand-in say so there too,
    not only on the page ("" when the studio runs on its real model, online)."""
    base = studio.base
    if base.is_standin:
        return (f"Tuning Studio: offline, on the tiny stand-in model {base.name} instead of FLAN-T5 (summaries show "
                "how tuning works, not real quality); for the real model run `python -m studio prefetch` while "
                "online, or set STUDIO_BASE_MODEL to a local model folder.")
    if getattr(studio, "offline", False):
        return f"Tuning Studio: offline, on {base.name} from local files only."
    return ""


def notice_html(studio: Studio) -> str:
    """The notice as HTML: the headlines, then a closed <details> with the rest ("" when nothing to say)."""
    headlines, details = notice_facts(studio)
    if not headlines:
        return ""
    lines = "".join(f"<p>⚠️ {_inline(h)}</p>" for h in headlines)
    more = ("<details><summary>Details</summary>" + "".join(f"<p>{_inline(d)}</p>" for d in details)
            + "</details>") if details else ""
    return f'<div class="notice-text">{lines}{more}</div>'


def _first_sentence(text: str) -> str:
    text = _without_parentheses(text)  # a raw exception in parentheses belongs to the details
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _without_prefetch(text: str) -> str:
    """The notice minus its advice to run prefetch (said once, at the end), keeping any raw error.

    Only advice outside parentheses counts: a raw error in parentheses may quote the same advice,
    and the operator needs that error.
    """
    sentences = re.split(r"(?<=[.!?])\s+", text)
    return " ".join(s for s in sentences if not _is_advice(_without_parentheses(s))).strip()


def _is_advice(sentence: str) -> bool:
    return "prefetch" in sentence or "STUDIO_BASE_MODEL" in sentence


def _without_parentheses(text: str) -> str:
    """Text with every parenthesised part removed, nested ones included."""
    while True:
        shorter = re.sub(r"\s*\([^()]*\)", "", text)
        if shorter == text:
            return text
        text = shorter


def _inline(text: str) -> str:
    """Escaped text with `code` spans kept as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def preparation_text(status: dict) -> str:
    """The header's progress note while STUDIO_PRELOAD_RUNS / STUDIO_PREPARE get the demo ready."""
    if not status["lines"] and not status["running"]:
        return ""
    head = ("⏳ Getting the demo ready in the background (the app works meanwhile):" if status["running"]
            else "✅ Demo ready:")
    return head + "\n" + "\n".join(f"- {plain(line)}" for line in status["lines"])
