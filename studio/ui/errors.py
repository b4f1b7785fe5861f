"""How the UI shows an error: a user's mistake as a warning that changes nothing, a bug as one short line.

    @guarded
    def rename(run_id, name, owner):
        return {message: hr.rename_run(studio, run_id, name, owner), new_name: ""}   # hr: handlers.runs

Handlers return dicts keyed by component, so on a user error `guarded` returns
gr.skip(), which leaves every output of the event as it was, however many there are.
"""
from __future__ import annotations

import functools
import html
import logging

import gradio as gr

from studio.service.engine import USER_ERRORS

log = logging.getLogger("studio.ui")
MAX_MESSAGE_CHARS = 400  # messages may quote what a user sent; a megabyte of it helps nobody


def guarded(fn):
    """Decorator: show user errors as a warning and change nothing; hide stack traces from users."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            if _from_script():
                # A script gets an error it can catch instead of a silently unchanged result,
                # in plain text: only the page renders HTML.
                raise gr.Error(_message(exc), print_exception=False) from None
            gr.Warning(html.escape(_message(exc)))  # toasts render HTML; messages may echo user text
        except gr.Error:
            raise
        except Exception as exc:  # a bug: the log gets the traceback, the user a short line
            log.exception("UI handler %s failed", fn.__name__)
            raise gr.Error(f"Something went wrong ({type(exc).__name__}); the details are in the "
                           "server log.", print_exception=False) from None
        return gr.skip()
    return run


def _message(exc: Exception) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    text = text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"
    return text or type(exc).__name__


def _from_script() -> bool:
    """True when the running event came from gradio_client or plain HTTP, not from the page.

    The page marks its calls with the header x-gradio-user: app; gradio_client sends "api".
    """
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    return request is not None and (request.headers or {}).get("x-gradio-user") != "app"
