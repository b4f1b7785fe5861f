"""The Gradio app, assembled: header, notices, five tabs and the queue settings.

    demo = build_app(Settings.from_env())          # or build_app(studio)
    demo.launch(**launch_options())                # css and theme go to launch() since Gradio 6

Each tab is built by one function taking a UiContext (context.py): the Studio plus
the few components tabs share. Error policy lives in errors.py, serving options in
launch.py; this module only puts the pieces together.
"""
from __future__ import annotations

import gradio as gr

from studio.config.settings import MAX_DIALOGUE_CHARS, Settings
from studio.measure.verdict import and_joined
from studio.model.methods import registry
from studio.service.engine import Studio

from . import (
    api,
    section_demo,
    section_notice,
    section_queue,
    tab_compare,
    tab_dataset,
    tab_evaluate,
    tab_runs,
    tab_train,
)
from .context import UiContext
from .errors import guarded  # noqa: F401  (kept importable from here for older scripts)
from .handlers import train as ht
from .launch import blocked_paths, calm_idle_queue, launch_options  # noqa: F401  (likewise)
from .scratch import scratch_folder


def presenter_page_js(whole_studio: bool) -> str:
    """Browser code run on load: marks a presenter page's html and body with the class `presenter-page`.

    It must run in the browser (gr.State never reaches it), so it reads ?presenter= with the
    same values as handlers.train.presenter_mode; the server's own rule stays the one that refuses events.
    """
    values = ["1", "true", "yes", "on"]  # handlers.train.presenter_mode's
    return ("() => { const asked = (new URLSearchParams(window.location.search).get('presenter') || '')"
            f".trim().toLowerCase(); const on = {str(whole_studio).lower()} || {values}.includes(asked); "
            "for (const el of [document.documentElement, document.body]) el.classList.toggle('presenter-page', on); "
            "return []; }")


NUMBER_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}


def header_markdown(studio: Studio) -> str:
    """The title and one line under it: the methods (every one the registry holds), the model, the data."""
    base = studio.base.name + (" (offline stand-in)" if studio.base.is_standin else "")
    labels = [registry.label(name) for name in registry.NAMES]
    ways = NUMBER_WORDS.get(len(labels), str(len(labels))) + (" ways" if len(labels) > 1 else " way")
    return ("# Tuning Studio\n"
            f"{ways} to tune **{base}** on {studio.data.description or studio.data.source}, side by side: "
            f"{and_joined(labels)}.")


def build_app(settings: Settings | Studio | None = None) -> gr.Blocks:
    studio = settings if isinstance(settings, Studio) else Studio(settings or Settings.from_env())
    if not studio.preparation_status()["lines"] and not studio.preparation_status()["running"]:
        studio.prepare_in_background()  # STUDIO_PRELOAD_RUNS / STUDIO_PREPARE, if set; the app serves meanwhile
    scratch = scratch_folder()  # removed at exit; a killed app's folder goes at the next start
    with gr.Blocks(title="Tuning Studio", analytics_enabled=False, delete_cache=(1800, 3600)) as demo:
        # Set on page load: the browser's saved token, or a fresh signed one it then keeps,
        # so a reload re-attaches to the same trainings. One load event sets it (a callable
        # State default would be a second load event racing this one).
        owner = gr.State("")
        # The "secret" only obfuscates localStorage (the browser must know it to decrypt), so a
        # fixed one costs nothing and lets the token survive a restart of the app (Spaces sleep).
        saved_owner = gr.BrowserState(None, storage_key="tuning-studio-owner", secret="tuning-studio-owner-v1")
        runs_version, sent_example = gr.State(0), gr.State(None)
        with gr.Row(equal_height=True):
            header = gr.Markdown(header_markdown(studio), elem_id="studio-header")
            if studio.settings.sign_in:
                # On a Space with hf_oauth: one identity across tabs and devices (studio/service/people.py).
                gr.LoginButton(scale=0, min_width=180, elem_id="sign-in")
        section_notice.build(studio, demo)
        section_queue.build(studio, demo, owner, runs_version)
        # Presenter mode (STUDIO_PRESENTER=1, or ?presenter=1 on this page): training controls hidden.
        presenter = gr.State(bool(studio.settings.presenter))
        demo_row = gr.Column()
        dialogue = gr.Textbox(label="Dialogue", lines=10, max_lines=24, max_length=MAX_DIALOGUE_CHARS,
                              render=False, elem_id="compare-dialogue",
                              placeholder="Paste a dialogue, one turn per line: \"#Person1#: Hi\", "
                                          "\"Anna: Hi\", or just the lines.")
        # Tabs that do not fit wrap onto a second row rather than hiding behind a "More tabs" menu:
        # Gradio measures the names once, and a phone that measures before the page's fonts and
        # styles have loaded would otherwise hide some of them (style.css sizes them to fit one row).
        with gr.Tabs(overflow_behavior="wrap") as tabs:
            ctx = UiContext(studio, demo, owner, tabs, runs_version, dialogue, sent_example, scratch, presenter)
            _build_tabs(ctx)
        with demo_row:  # filled now that ctx exists; it sits under the header
            section_demo.build(ctx)

        _wire_page_load(studio, demo, saved_owner, owner, presenter)
        api.build(ctx)  # endpoints for scripts only: named JSON results (README, "From a script")
        # The base model can be switched while the app runs (Train tab): the header follows it.
        for trigger in (demo.load, runs_version.change):
            trigger(lambda: header_markdown(studio), None, header, api_visibility="private", show_progress="hidden")
    # Cheap events (browsing, refreshing lists) may run side by side; generation has its own limit.
    demo.queue(default_concurrency_limit=4, max_size=200)
    calm_idle_queue(demo)
    return demo


def _wire_page_load(studio: Studio, demo: gr.Blocks, saved_owner: gr.BrowserState, owner: gr.State,
                    presenter: gr.State) -> None:
    """On each page load: adopt the browser's saved owner token (or issue one), and read ?presenter=1."""
    def restore_owner(saved, request: gr.Request):
        # Only a token this studio signed is adopted (docs/reliability.md, "Owner tokens"):
        # anything else, a forged or pre-signature token included, gets a fresh one.
        token = studio.adopt_owner_token(saved)
        # Remembered under the session, so every event of this page is charged to this person
        # (studio/service/people.py), not to the room's shared address.
        studio.people.remember(getattr(request, "session_hash", None), token)
        return token, token

    # Queued, not queue=False: only then does the State's .change fire (the Train tab listens to it).
    demo.load(restore_owner, saved_owner, [saved_owner, owner], api_visibility="private",
              show_progress="hidden")

    def presenter_on_load(request: gr.Request):
        on = ht.presenter_mode(studio, getattr(request, "query_params", None))
        # The server remembers a presenter page, so the one presenter rule refuses every event it
        # sends (handlers/common.refuse_in_presenter_mode), whatever the page's own state says.
        studio.people.mark_presenter(getattr(request, "session_hash", None), on)
        return on

    demo.load(presenter_on_load, None, presenter, api_visibility="private", show_progress="hidden")
    # The page's look follows: style.css sizes a body.presenter-page for a projector (wide, large type).
    demo.load(None, None, None, js=presenter_page_js(bool(studio.settings.presenter)), api_visibility="private")


def _build_tabs(ctx: UiContext) -> None:
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
