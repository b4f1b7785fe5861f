"""Train tab: pick a method and budget, start a run, watch its loss live against earlier runs.

A gr.Timer polls this session's job every 1.5 s while it is queued or running and
switches itself off when the job ends; the last tick bumps ctx.runs_version so the
other tabs list the new run without a reload.
"""
from __future__ import annotations

import gradio as gr

from ..config import METHOD_LABELS, PRESETS, PROMPT_INIT_TEXT, LoraSettings, PromptSettings
from . import handlers as h
from .app import UiContext, guarded
from .turns import current_client

POLL_SECONDS = 1.5
DEFAULT_METHOD = "lora"


def build(ctx: UiContext) -> None:
    studio = ctx.studio
    form = h.TrainForm(method=DEFAULT_METHOD)
    lora, prompt = LoraSettings(), PromptSettings()
    job_id = gr.State(None)
    steps_seen = gr.State(-1)          # loss points on the plot; the plot is redrawn only when it changes
    timer = gr.Timer(POLL_SECONDS, active=False)

    with gr.Row():
        with gr.Column(scale=2, min_width=360):
            method = gr.Radio([(label, key) for key, label in METHOD_LABELS.items()], value=DEFAULT_METHOD,
                              label="Method")
            method_help = gr.Markdown(h.METHOD_HELP[DEFAULT_METHOD], elem_classes=["method-help"])
            preset = gr.Radio([("Quick", "quick"), ("Standard", "standard")], value="quick", label="Preset",
                              info=_preset_info())
            with gr.Row():
                steps = gr.Number(form.steps, label="Steps", precision=0, minimum=1, maximum=5000)
                batch_size = gr.Number(form.batch_size, label="Batch size", precision=0, minimum=1, maximum=64)
                train_size = gr.Number(form.train_size, label="Training subset size", precision=0, minimum=1,
                                       info="dialogue–summary pairs drawn from the train split")
            with gr.Row():
                # A textbox, not gr.Number: a Number cannot be blank, and blank means "the method's default".
                learning_rate = gr.Textbox("", label="Learning rate", info=h.learning_rate_hint(DEFAULT_METHOD),
                                           placeholder=f"{h.default_learning_rate(DEFAULT_METHOD):g}", max_length=32)
                seed = gr.Number(form.seed, label="Seed", precision=0, minimum=0)
            name = gr.Textbox(label="Run name (optional)", max_length=80, placeholder="e.g. lora-r8-quick")
            with gr.Group(visible=DEFAULT_METHOD == "lora") as lora_box:
                with gr.Row():
                    lora_r = gr.Number(lora.r, label="LoRA rank r", precision=0, minimum=1, maximum=512)
                    lora_alpha = gr.Number(lora.alpha, label="LoRA alpha", precision=0, minimum=1)
                    lora_dropout = gr.Number(lora.dropout, label="LoRA dropout", minimum=0, maximum=0.95,
                                             step=0.05)
                lora_targets = gr.CheckboxGroup(list(h.LORA_TARGETS), value=list(lora.target_modules),
                                                label="Target modules",
                                                info="q, k, v, o: attention projections; wi_0, wi_1, wo: feed-forward")
            with gr.Group(visible=DEFAULT_METHOD == "prompt") as prompt_box:
                with gr.Row():
                    prompt_tokens = gr.Number(prompt.num_virtual_tokens, label="Virtual tokens", precision=0,
                                              minimum=1, maximum=200)
                    prompt_init = gr.Radio([("From text", "text"), ("Random", "random")], value=prompt.init,
                                           label="Start the prompt from")
                prompt_init_text = gr.Textbox(PROMPT_INIT_TEXT, label="Initial prompt text", max_length=500)
            with gr.Row():
                start = gr.Button("Start training", variant="primary")
                stop = gr.Button("Stop", variant="stop")
        with gr.Column(scale=3, min_width=420):
            status = gr.Markdown(h.job_view(studio, None).status, elem_classes=["job-status"], elem_id="job-status")
            progress = gr.Markdown(elem_classes=["job-progress"], elem_id="job-progress")
            params = gr.Markdown(elem_id="job-params")
            plot = gr.Plot(h.loss_view(studio), show_label=False, elem_id="loss-plot")

    def on_method(key):
        key = key if key in METHOD_LABELS else DEFAULT_METHOD
        return (h.METHOD_HELP[key], gr.Group(visible=key == "lora"), gr.Group(visible=key == "prompt"),
                gr.Textbox(info=h.learning_rate_hint(key), placeholder=f"{h.default_learning_rate(key):g}"))

    method.change(on_method, method, [method_help, lora_box, prompt_box, learning_rate], api_visibility="private",
                  show_progress="hidden")

    @guarded(3)
    def on_preset(name_):
        values = h.preset_values(name_)
        return values["steps"], values["batch_size"], values["train_size"]

    preset.input(on_preset, preset, [steps, batch_size, train_size], api_visibility="private",
                 show_progress="hidden")

    view_outputs = [status, progress, params, plot]

    @guarded(7)
    def start_training(owner, **fields):
        # API clients never run the page's load event: give their session a token here.
        owner = owner or studio.tokens.issue()
        job = h.start_training(studio, owner, h.TrainForm(**fields),
                               client=current_client(studio.settings.proxy_hops))
        view = h.job_view(studio, job)
        return (owner, job.job_id, gr.Timer(active=True), view.status, view.progress, view.params,
                h.loss_view(studio, job))

    start.click(start_training, outputs=[ctx.owner, job_id, timer, *view_outputs], api_name="train",
                inputs_kwargs=dict(owner=ctx.owner, method=method, steps=steps, batch_size=batch_size,
                                   train_size=train_size, learning_rate=learning_rate, seed=seed, name=name,
                                   lora_r=lora_r, lora_alpha=lora_alpha, lora_dropout=lora_dropout,
                                   lora_targets=lora_targets, prompt_tokens=prompt_tokens,
                                   prompt_init=prompt_init, prompt_init_text=prompt_init_text),
                # Raw values reach the handler, which checks each one and says what is wrong with it
                # (Gradio's own checks answer a script's "ten steps" with a bare error).
                preprocess=False)

    @guarded(1)
    def stop_training(current, owner):
        message = h.stop_training(studio, current, owner)
        gr.Info(message)
        return h.job_view(studio, studio.jobs.get(current)).status

    stop.click(stop_training, [job_id, ctx.owner], status, api_name="stop")

    def poll(current, version, seen):
        job = studio.jobs.get(current) if current else None
        view = h.job_view(studio, job)
        redraw = view.steps_seen != seen or view.ended
        figure = h.loss_view(studio, job) if redraw else gr.skip()
        if not view.ended:
            return view.status, view.progress, view.params, figure, gr.skip(), gr.skip(), view.steps_seen
        if job is not None and job.status == "completed":
            gr.Info(f"{METHOD_LABELS[job.spec.method]} training finished.")
        # The job ended: stop polling, and tell the other tabs a run list changed.
        return (view.status, view.progress, view.params, figure, gr.Timer(active=False),
                (version or 0) + (job is not None), view.steps_seen)

    timer.tick(poll, [job_id, ctx.runs_version, steps_seen],
               [*view_outputs, timer, ctx.runs_version, steps_seen], api_name="job_status",
               show_progress="hidden", concurrency_limit=None)

    def reattach(owner):
        """After a reload, pick up this browser's queued or running job again."""
        current = h.active_job_id(studio, owner)
        return (current, gr.Timer(active=True), -1) if current else (gr.skip(), gr.skip(), gr.skip())

    ctx.owner.change(reattach, ctx.owner, [job_id, timer, steps_seen], api_visibility="private",
                     show_progress="hidden")


def _preset_info() -> str:
    return " · ".join(f"{name}: {p['steps']} steps × batch {p['batch_size']} from {p['train_size']:,} pairs"
                      for name, p in PRESETS.items())
