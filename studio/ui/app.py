"""The Gradio app: header, notices, five tabs and the queue settings.

    demo = build_app(Settings.from_env())          # or build_app(studio)
    demo.launch(**launch_options())                # css and theme go to launch() since Gradio 6

Each tab is built by one function taking a UiContext: the Studio plus the few
components tabs share (the Compare dialogue box, the "runs changed" counter).
Handlers live in the handlers package; `guarded` turns the engine's user-facing errors
into a warning toast and leaves every output as it was.
"""
from __future__ import annotations

import functools
import html
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from ..config import MAX_UPLOAD_BYTES, Settings
from ..engine import Studio
from ..jobs import QueueFull
from ..offline import ModelUnavailable
from ..runs import RunNotFound
from .request_limit import MAX_REQUEST_BYTES, RequestSizeLimit

log = logging.getLogger("studio.ui")
SOURCE_ROOT = Path(__file__).resolve().parents[2]
CSS_PATH = SOURCE_ROOT / "assets" / "style.css"
MAX_MESSAGE_CHARS = 400  # messages may quote what a user sent; a megabyte of it helps nobody
# Errors with a message meant for the user; anything else is a bug and is logged.
USER_ERRORS = (ValueError, PermissionError, RunNotFound, QueueFull, ModelUnavailable, TimeoutError)
# A 2-core machine: generation runs one request at a time (the model pool serialises it
# anyway). Gradio's queue is first come, first served, so it lets this many generation
# events in at once; they then wait at the studio's gate, which takes clients in turn and
# refuses a client's requests beyond its share at once (studio/ui/turns.py).
GENERATE = "generate"
GENERATE_WORKERS = 16


@dataclass
class UiContext:
    studio: Studio
    demo: gr.Blocks
    owner: gr.State            # this session's token: who may stop / delete / rename what
    tabs: gr.Tabs
    runs_version: gr.State     # bumped when a run appears, ends, is renamed or deleted
    dialogue: gr.Textbox       # Compare's "Dialogue" box, filled from the Dataset tab
    sent_example: gr.State     # {"dialogue", "references"} last sent from the Dataset tab
    scratch: Path              # temporary downloads (CSV, zips)


def guarded(n_outputs: int):
    """Decorator: show user errors as a warning and change nothing; hide stack traces from users."""
    def wrap(fn):
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
            skipped = tuple(gr.skip() for _ in range(n_outputs))
            return skipped[0] if n_outputs == 1 else skipped
        return run
    return wrap


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


def launch_options(settings: Settings | None = None) -> dict:
    """Arguments for demo.launch(): look (Gradio 6 takes css and theme here) and file-access limits."""
    # Soft's colours with a plainer, more legible font than its default Montserrat; both fonts
    # ship with Gradio, so nothing is fetched from the internet.
    font = (gr.themes.LocalFont("Source Sans Pro", weights=(400, 600)), "ui-sans-serif", "system-ui", "sans-serif")
    options = {"css_paths": [CSS_PATH], "theme": gr.themes.Soft(primary_hue="blue", font=font),
               "footer_links": ["api", "gradio"],
               # The app takes no uploads, but Gradio's upload route is open to anyone: cap each file
               # here, and each request and each client's uploads in RequestSizeLimit.
               "max_file_size": MAX_UPLOAD_BYTES,
               # Every request body is capped before Gradio reads it; uploads per request and per client.
               "app_kwargs": {"middleware": [Middleware(RequestSizeLimit, max_bytes=MAX_REQUEST_BYTES,
                                                        proxy_hops=settings.proxy_hops if settings else 0)]}}
    # No allowed_paths: Gradio then serves only files the app itself returned (copied into
    # its cache). Blocking these as well keeps them out even if someone adds allowed_paths later.
    if settings is not None:
        options["blocked_paths"] = blocked_paths(settings)
    return options


def blocked_paths(settings: Settings) -> list[str]:
    """The runs, the model cache, the source tree and the Hugging Face home (tokens live there)."""
    from gradio.utils import get_upload_folder
    from huggingface_hub import constants

    # Where Gradio keeps the files the app returns (CSV, zips): never block that. (The app caches
    # no examples, so Gradio's examples cache under the working directory may be blocked.)
    served = [Path(get_upload_folder()).resolve()]
    candidates = [settings.runs_dir, settings.cache_dir, SOURCE_ROOT, Path(constants.HF_HOME)]
    paths = []
    for path in candidates:
        path = Path(path).expanduser().resolve()
        if not any(path == folder or path in folder.parents for folder in served):
            paths.append(str(path))
    return paths


def header_markdown(studio: Studio) -> str:
    base = studio.base.name + (" (offline stand-in)" if studio.base.is_standin else "")
    return ("# Tuning Studio\n"
            f"Full fine-tuning, LoRA and prompt tuning of **{base}** on "
            f"{studio.data.description or studio.data.source}, side by side.")


def notices_markdown(studio: Studio) -> str:
    notes = list(studio.notices)
    if studio.interrupted:
        notes.append(f"{len(studio.interrupted)} run(s) were interrupted when the studio last stopped; "
                     "they are listed in the Runs tab.")
    return "\n".join(f"⚠️ {note}" for note in notes)


def build_app(settings: Settings | Studio | None = None) -> gr.Blocks:
    from . import tab_compare, tab_dataset, tab_evaluate, tab_runs, tab_train  # here: they import this module

    studio = settings if isinstance(settings, Studio) else Studio(settings or Settings.from_env())
    scratch = Path(tempfile.gettempdir()) / f"tuning-studio-ui-{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    with gr.Blocks(title="Tuning Studio", analytics_enabled=False, delete_cache=(1800, 3600)) as demo:
        # Set on page load: the browser's saved token, or a fresh signed one it then keeps,
        # so a reload re-attaches to the same trainings. One load event sets it (a callable
        # State default would be a second load event racing this one).
        owner = gr.State("")
        # The "secret" only obfuscates localStorage (the browser must know it to decrypt), so a
        # fixed one costs nothing and lets the token survive a restart of the app (Spaces sleep).
        saved_owner = gr.BrowserState(None, storage_key="tuning-studio-owner", secret="tuning-studio-owner-v1")
        runs_version = gr.State(0)
        sent_example = gr.State(None)
        gr.Markdown(header_markdown(studio), elem_id="studio-header")
        notices = notices_markdown(studio)
        gr.Markdown(notices, visible=bool(notices), elem_classes=["studio-notice"])
        dialogue = gr.Textbox(label="Dialogue", lines=10, max_lines=24, max_length=20_000, render=False,
                              placeholder="Paste a dialogue, one turn per line: \"#Person1#: Hi\", "
                                          "\"Anna: Hi\", or just the lines.", elem_id="compare-dialogue")
        with gr.Tabs() as tabs:
            ctx = UiContext(studio, demo, owner, tabs, runs_version, dialogue, sent_example, scratch)
            with gr.Tab("Dataset", id="dataset"):
                tab_dataset.build(ctx)
            with gr.Tab("Train", id="train"):
                tab_train.build(ctx)
            with gr.Tab("Compare", id="compare") as compare_tab:
                tab_compare.build(ctx, compare_tab)
            with gr.Tab("Evaluate", id="evaluate") as evaluate_tab:
                tab_evaluate.build(ctx, evaluate_tab)
            with gr.Tab("Runs", id="runs") as runs_tab:
                tab_runs.build(ctx, runs_tab)

        def restore_owner(saved):
            # Only a token this studio signed is adopted (docs/reliability.md, "Owner tokens"):
            # anything else, a forged or pre-signature token included, gets a fresh one.
            token = saved if studio.tokens.valid(saved) else studio.tokens.issue()
            return token, token

        # Queued, not queue=False: only then does the State's .change fire (the Train tab listens to it).
        demo.load(restore_owner, saved_owner, [saved_owner, owner], api_visibility="private",
                  show_progress="hidden")
    # Cheap events (browsing, refreshing lists) may run side by side; generation has its own limit.
    demo.queue(default_concurrency_limit=4, max_size=200)
    return demo
