"""Constants, input checks and formatting shared by every tab.

Numbers are checked by the settings' own declarations (studio.declare.parse): the
bounds and messages a form meets are the ones the CLI and the engine enforce.
"""
from __future__ import annotations

import html
import math
import re

from studio.config.declare import shown
from studio.config.settings import ORIGINAL
from studio.model.methods import registry


def refuse_in_presenter_mode(studio, action: str, page: bool = False) -> None:
    """The presenter rule, the one place it is decided, for every event that trains or changes shared state.

    Presenter mode is on for everyone, the page and scripts alike, with STUDIO_PRESENTER=1; or for
    one page opened with ?presenter=1 (the page-load event marks its session in studio.people, so
    every event that page sends is refused, whether or not it carries the presenter state).
    `page`: the event says its page is a presenter page. tests/scenarios/test_presenter_walk.py walks
    every event of the built app to check that none can train or change the store in this mode.
    """
    if presenter_mode_on(studio, page):
        raise PermissionError(f"Presenter mode: {action} is switched off here; the runs already saved are shown.")


def require_session(owner) -> None:
    """Work that belongs to a session needs its token: a page has one once it has finished loading, a
    script once it has started a training."""
    if not owner:
        raise ValueError("This session has started nothing yet (a page that has just opened needs a moment "
                         "more to load).")


def presenter_mode_on(studio, page: bool = False) -> bool:
    """Whether the event now running comes from a presenter (the studio's setting, or its page's mark)."""
    people = getattr(studio, "people", None)   # absent on the handler tests' stand-in studios
    return bool(page or studio.settings.presenter or (people is not None and people.is_presenter(current_session())))


def current_session() -> str | None:
    """The session hash of the Gradio event now running (None outside an event)."""
    from gradio.context import LocalContext  # loaded with the app already; not on importing handlers

    return getattr(LocalContext.request.get(None), "session_hash", None)


NONE = "none"                 # the run-dropdown value meaning "no run for this method" (yet)
SKIP = "skip"                 # "leave this column out": a choice the person made, kept when runs change
ALL_TOPICS = "All topics"
PAGE_SIZE = 5                 # dialogues per Dataset page: long texts, so few at a time
COLUMNS = (ORIGINAL, *registry.NAMES)
MISSING_HINT = "No {label} run yet. Train one in the Train tab, or run `python -m studio prepare`."
MISSING_OPTIONAL_HINT = "No {label} run yet. Train one in the Train tab."   # `prepare` trains the default ones only


def missing_hint(method: str) -> str:
    """What a column without a run of `method` says: how to get one."""
    found = registry.get(method)
    return (MISSING_HINT if found.by_default else MISSING_OPTIONAL_HINT).format(label=found.label)


def no_run(run_id) -> bool:
    """True when a run dropdown's value picks no run (scripts may send "none" to skip a column too)."""
    return not run_id or run_id in (NONE, SKIP)


# Events reach the handlers unprocessed (preprocess=False in the tabs): whatever a script
# sends, these functions are what checks it, with one message per problem.

def one_of(name: str, value, options) -> str:
    """A value that must be one of `options` (a radio button's or dropdown's values)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"The {name} must be one of {', '.join(options)}, not {shown(value)}.")
    return value


def some_of(name: str, values, options) -> list[str]:
    """Values that must all be among `options` (a checkbox group's)."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"The {name} must be a list of names from {', '.join(options)}.")
    unknown = [v for v in values if v not in options]
    if unknown:
        raise ValueError(f"Unknown {name}: {shown(unknown[0])}; choose from {', '.join(options)}.")
    return list(dict.fromkeys(values))


def text(name: str, value, limit: int) -> str:
    """Free text from a box: None counts as empty; anything not text, or too long, is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"The {name} must be text, not {shown(value)}.")
    if len(value) > limit:
        raise ValueError(f"The {name} has {len(value):,} characters; the limit is {limit:,}.")
    return value


def plain(text) -> str:
    """User-supplied text (run names, topics, errors) made inert inside Markdown."""
    text = html.escape(str(text), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#|~])", r"\\\1", text)  # inline markup only: names sit mid-line


def fmt_seconds(seconds) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def fmt_bytes(size) -> str:
    if not size:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def fmt_params(trainable, share=None) -> str:
    if not trainable:
        return ""
    text = f"{int(trainable):,}"
    return f"{text} ({100 * share:.2f}%)" if share is not None else text


