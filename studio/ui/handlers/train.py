"""The Train tab: the form's checks, starting and stopping, the status and loss views."""
from __future__ import annotations

import time
from dataclasses import dataclass

from ...config import METHOD_LABELS, METHODS, PRESETS, TrainConfig, method_settings
from ...plots import loss_figure
from ...runs import RunNotFound
from .common import LORA_TARGETS, fmt_seconds, fraction, one_of, plain, shown, some_of, text, whole


@dataclass
class TrainForm:
    """Every field of the Train tab, as the widgets hand them over (numbers may be floats or None)."""
    method: str = "lora"
    steps: float | None = PRESETS["quick"]["steps"]
    batch_size: float | None = PRESETS["quick"]["batch_size"]
    train_size: float | None = PRESETS["quick"]["train_size"]
    learning_rate: float | None = None
    seed: float | None = 42
    name: str = ""
    lora_r: float | None = 16
    lora_alpha: float | None = 32
    lora_dropout: float | None = 0.05
    lora_targets: list[str] | tuple[str, ...] = ("q", "v")
    prompt_tokens: float | None = 20
    prompt_init: str = "text"
    prompt_init_text: str = ""


def preset_values(name: str) -> dict:
    """steps / batch_size / train_size for a preset the Train tab offers."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}: choose {' or '.join(PRESETS)}.")
    return dict(PRESETS[name])


def default_learning_rate(method: str) -> float:
    return method_settings(method).learning_rate


def learning_rate_hint(method: str) -> str:
    return f"Blank = the {METHOD_LABELS[method]} default, {default_learning_rate(method):g}"


def train_request(form: TrainForm) -> tuple[TrainConfig, dict]:
    """Check the form and turn it into the engine's TrainConfig plus method overrides."""
    if not isinstance(form.method, str) or form.method not in METHODS:
        raise ValueError(f"Choose a method: {', '.join(METHOD_LABELS.values())} "
                         f"({', '.join(METHODS)}), not {shown(form.method)}.")
    cfg = TrainConfig(
        steps=whole("number of steps", form.steps, 1, 5000),
        batch_size=whole("batch size", form.batch_size, 1, 64),
        train_size=whole("training subset size", form.train_size, 1, 10_000_000),
        learning_rate=fraction("learning rate", form.learning_rate, 1e-7, 10.0),
        seed=whole("seed", form.seed, 0, 2**32 - 1),
    )
    cfg.validate()
    overrides: dict = {}
    if form.method == "lora":
        targets = some_of("LoRA target modules", form.lora_targets, LORA_TARGETS)
        if not targets:
            raise ValueError("Tick at least one LoRA target module (q and v are the usual choice).")
        overrides = {"r": whole("LoRA rank", form.lora_r, 1, 512),
                     "alpha": whole("LoRA alpha", form.lora_alpha, 1, 4096),
                     "dropout": fraction("LoRA dropout", form.lora_dropout, 0.0, 0.95, blank=0.0),
                     "target_modules": tuple(targets)}
    elif form.method == "prompt":
        overrides = {"num_virtual_tokens": whole("number of virtual tokens", form.prompt_tokens, 1, 200),
                     "init": one_of("prompt start", form.prompt_init or "text", ("text", "random"))}
        init_text = text("initial prompt text", form.prompt_init_text, 500).strip()
        if init_text:
            overrides["init_text"] = init_text
    method_settings(form.method, overrides)  # raises now, not in the background worker
    return cfg, overrides


def start_training(studio, owner: str, form: TrainForm, client: str | None = None):
    """Queue a training job for this session (sent from `client`, an address); returns the Job."""
    if not owner:
        raise ValueError("The page has not finished loading; try again in a moment.")
    cfg, overrides = train_request(form)
    name = text("run name", form.name, 1000)  # longer names are cut to 80 characters, not refused
    # One at a time per session: the tab follows one job, and a double click must not queue two.
    return studio.submit_training(form.method, cfg, overrides, owner=owner, name=name, max_active=1, client=client)


def stop_training(studio, job_id: str | None, owner: str) -> str:
    """Ask the worker to stop this session's job; the message says what happens next."""
    job = studio.jobs.get(job_id) if job_id else None
    if job is None:
        raise ValueError("There is no training of yours to stop.")
    if job.status not in ("queued", "running"):
        raise ValueError("That training has already ended.")
    if not studio.jobs.stop(job_id, owner):
        raise PermissionError("Only the session that started this training can stop it.")
    if job.status == "stopped":
        return "Cancelled before it started."
    return "Stopping after the current step; the model so far will be saved."


def active_job_id(studio, owner: str) -> str | None:
    """This session's newest queued or running job, to re-attach to after a page reload."""
    mine = [j for j in studio.jobs.jobs_of(owner) if j.status in ("queued", "running")] if owner else []
    return max(mine, key=lambda j: j.submitted_at).job_id if mine else None


@dataclass
class JobView:
    status: str          # one headline: queued / running / finished / stopped / failed
    progress: str        # steps, time left, speed
    params: str          # trainable parameters and share
    ended: bool
    steps_seen: int      # how many loss points the plot holds (skip redrawing when unchanged)


def job_view(studio, job, now: float | None = None) -> JobView:
    if job is None:
        return JobView("No training started in this session yet.", "", "", True, 0)
    now = now or time.time()
    events = list(job.events)  # the worker appends while we read
    steps = [e for e in events if e.get("type") == "step"]
    last = steps[-1] if steps else None
    params = next((e for e in reversed(events) if e.get("type") == "params"), None)
    label = METHOD_LABELS.get(job.spec.method, job.spec.method)
    params_text = (f"**Trainable parameters:** {params['trainable_params']:,} of {params['total_params']:,} "
                   f"({100 * params['trainable_share']:.2f}%)" if params else "")
    progress = ""
    if last:
        done, total = last["step"], last.get("max_steps") or 0
        progress = f"Step {done} of {total}" if total else f"Step {done}"
        if total:
            progress += f" ({100 * done / total:.0f}%)"
        progress += f" · loss {last['loss']:.3f}"
        if job.status == "running" and done and total > done:
            progress += f" · about {fmt_seconds(last['elapsed'] / done * (total - done))} left"
        if last.get("samples_per_second"):
            progress += f" · {last['samples_per_second']:.1f} examples/s"
    if job.status == "queued":
        position = studio.jobs.position(job.job_id)
        running = studio.jobs.running()
        ahead = f" Another {METHOD_LABELS.get(running.spec.method, '')} training is running now." if running else ""
        status = f"**Queued.** You are #{position} in the queue.{ahead}"
    elif job.status == "running":
        note = next((e for e in reversed(events) if e.get("type") == "status"), None)
        # Before the first step the worker loads the model and tokenizes; after, it trains.
        doing = "training" if last or (note or {}).get("status") == "training" else "getting ready"
        status = f"**{label} is {doing}** ({fmt_seconds(now - (job.started_at or now))} so far)."
        if job.stop_event.is_set():
            status = f"**Stopping {label}** after the current step…"
    elif job.status == "completed":
        record = job.record or {}
        status = (f"**Finished:** {label} trained {record.get('steps', len(steps))} steps in "
                  f"{fmt_seconds(record.get('train_seconds'))}. Try it in the Compare tab.")
    elif job.status == "stopped":
        status = (f"**Stopped:** {plain(job.error)}" if job.error else
                  f"**Stopped** at step {last['step'] if last else 0}; the model so far is saved "
                  "and shows up in the other tabs.")
    elif job.status == "failed":
        status = f"**Failed:** {plain(job.error or 'unknown error')}"
        if "No space left" in (job.error or ""):
            status += " The disk is full: delete runs you no longer need (Runs tab), then train again."
    else:
        status = f"**{job.status.capitalize()}:** {plain(job.error or '')}"
    return JobView(status, progress, params_text, job.status not in ("queued", "running"), len(steps))


def loss_view(studio, job=None):
    """The loss plot: this session's job boldest, the newest earlier run of each other method dotted."""
    curves: dict = {}
    current_method = job.spec.method if job is not None else None
    if job is not None:
        steps = [e for e in list(job.events) if e.get("type") == "step"]
        curves[f"{METHOD_LABELS[current_method]} (this run)"] = (current_method, steps)
    for method in METHODS:
        if method == current_method:
            continue
        earlier = [r for r in studio.loadable_runs(method) if r.get("status") == "completed"]
        if earlier:
            record = earlier[0]
            try:
                events = [e for e in studio.store.events(record["run_id"]) if e.get("type") == "step"]
            except RunNotFound:
                continue
            curves[f"{METHOD_LABELS[method]}: {record.get('name') or record['run_id']}"[:48]] = (method, events)
    return loss_figure(curves, title="Training loss" if job is not None else "Training loss of earlier runs")
