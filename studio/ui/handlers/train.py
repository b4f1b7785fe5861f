"""The Train tab: the form's checks, starting and stopping, the status and loss views, and what sits
beside the form: "Copy as command", the base model's memory line and switch, and the ZeroGPU stream.

    cfg, overrides = train_request(TrainForm(method="lora", steps=30))
    job = start_training(studio, owner, TrainForm(method="lora"))     # queued; the tab polls job_view
    view = job_view(studio, studio.job(job.job_id))                   # status, progress, parameters
    command_text(TrainForm(method="lora"))                            # the CLI line for the same training

The form holds what every method shares, then each method's own settings under their own
names (lora_r, prompt_num_virtual_tokens): those fields, their checks, what a blank means,
and the form a reloaded page restores all come from the methods' declarations (registry).

"Train all three" (the fair experiment) is the Train tab's too, but has a module of its own,
train_experiment.py: together the two would pass 800 lines.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, make_dataclass
from typing import TYPE_CHECKING

from studio.config.declare import Spec, parse
from studio.config.settings import PRESETS, TRACKERS, TrainConfig
from studio.config.train_command import train_command
from studio.model.methods import registry
from studio.store.runs import RunNotFound
from studio.train.trackers import LABELS as TRACKER_LABELS
from studio.train.trackers import installed_trackers
from studio.ui.formatting import short_run_name
from studio.ui.plots import loss_figure

from .common import fmt_seconds, one_of, plain, refuse_in_presenter_mode, require_session, shown, some_of, text

if TYPE_CHECKING:
    from studio.service.engine import Studio
    from studio.service.jobs import JobStatus


def _default(cls, name: str):
    """A form field's default, read from the settings it fills (declared once, where the settings are)."""
    return field(default_factory=lambda: getattr(cls(), name))


def _preset(name: str):
    return field(default_factory=lambda: PRESETS["quick"][name])


def _declared(s: Spec):
    """A form field for one method setting: its declared default, a list where the setting is a tuple."""
    return field(default_factory=lambda: list(s.default) if isinstance(s.default, tuple) else s.default)


@dataclass
class _SharedForm:
    """The Train tab's fields every method shares (numbers may arrive as floats, text or None)."""
    method: str = registry.DEFAULT_TRAINING
    steps: float | None = _preset("steps")
    batch_size: float | None = _preset("batch_size")
    train_size: float | None = _preset("train_size")
    learning_rate: float | str | None = None      # blank: the method's own default
    seed: float | None = _default(TrainConfig, "seed")
    name: str = ""
    report_to: str = _default(TrainConfig, "report_to")   # advanced: a tracker the run is also logged to


# Every field of the Train tab, as the widgets hand them over: the shared ones, then each method's
# settings by their declared names (lora_r, lora_target_modules, prompt_init, ...).
TrainForm = make_dataclass("TrainForm", [(s.field, object, _declared(s)) for _, s in registry.form_settings()],
                           bases=(_SharedForm,))
TrainForm.__doc__ = "Every field of the Train tab: what methods share, then each method's settings by their names."
TrainForm.__module__ = __name__

def preset_values(studio: Studio, name: str) -> dict:
    """steps / batch_size / train_size for a preset the Train tab offers, fitted to the loaded base model."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}: choose {' or '.join(PRESETS)}.")
    return studio.presets()[name]


def preset_info(studio: Studio) -> str:
    """The preset radio's info line: what each preset asks for on the loaded base model."""
    return " · ".join(f"{name}: {p['steps']} steps × batch {p['batch_size']} from {p['train_size']:,} pairs"
                      for name, p in studio.presets().items())


def default_learning_rate(method: str) -> float:
    return registry.get(method).learning_rate


def learning_rate_hint(method: str) -> str:
    return f"Blank = the {registry.label(method)} default, {default_learning_rate(method):g}"


def tracker_choices() -> list[tuple[str, str]]:
    """(label, value) for the "Report to" dropdown: every tracker, each saying whether it is installed here."""
    installed = set(installed_trackers())
    return [("None (the studio's own record only)", "none"),
            *((TRACKER_LABELS[t] + ("" if t in installed else f" (needs pip install 'tuning-studio[{t}]')"), t)
              for t in TRACKERS if t != "none")]


def train_request(form: TrainForm) -> tuple[TrainConfig, dict]:
    """Check the form and turn it into the engine's TrainConfig plus method overrides (the method's settings
    that differ from their defaults, by their names)."""
    method = registry.find(form.method)
    if method is None:
        raise ValueError(f"Choose a method: {', '.join(registry.LABELS.values())} "
                         f"({', '.join(registry.NAMES)}), not {shown(form.method)}.")
    cfg = TrainConfig(**{name: parse(TrainConfig, name, getattr(form, name))
                         for name in ("steps", "batch_size", "train_size", "seed")},
                      learning_rate=parse(TrainConfig, "learning_rate", form.learning_rate, blank=None),
                      report_to=parse(TrainConfig, "report_to", form.report_to, blank="none"))
    cfg.validate()
    overrides = {}
    for s in _form_specs(method):
        value = form_value(method.settings, s, getattr(form, s.field))
        if value != s.default:
            overrides[s.field] = value
    method.settings_from(overrides)  # raises now, not in the background worker
    return cfg, overrides


def _form_specs(method) -> list[Spec]:
    return [s for m, s in registry.form_settings() if m is method]


def form_value(cls, s: Spec, raw):
    """One method setting as the form or an API call sent it, checked by its declaration.

    A tuple setting is ticked from its declared options (at least one); free text is trimmed;
    a blank value means what the declaration says it means, or is refused."""
    if s.kind is tuple:
        ticked = some_of(s.name, raw, s.options or ())
        if not ticked:
            raise ValueError(f"Tick at least one of the {s.name} ({', '.join(s.default)} is the usual choice).")
        return tuple(ticked)
    value = parse(cls, s.field, raw, blank=s.blank)
    return value.strip() if isinstance(value, str) and s.choices is None else value


def start_training(studio: Studio, owner: str, form: TrainForm, client: str | None = None,
                   presenter: bool = False) -> JobStatus:
    """Queue a training job for this session (sent from `client`, an address); returns its JobStatus.

    Refused in presenter mode (the setting, or this page's ?presenter=1)."""
    refuse_in_presenter_mode(studio, "training", page=presenter)
    require_session(owner)
    cfg, overrides = train_request(form)
    name = text("run name", form.name, 1000)  # longer names are cut to 80 characters, not refused
    # One at a time per session: the tab follows one job, and a double click must not queue two.
    return studio.submit_training(form.method, cfg, overrides, owner=owner, name=name, max_active=1, client=client)


def stop_training(studio: Studio, job_id: str | None, owner: str) -> str:
    """Ask the worker to stop this session's job; the message says what happens next."""
    job = studio.job(job_id)
    if job is None:
        raise ValueError("There is no training of yours to stop.")
    if job.ended:
        raise ValueError("That training has already ended.")
    if not studio.stop_job(job_id, owner):
        raise PermissionError("Only the session that started this training can stop it.")
    # A queued or paused job has ended by now (stop_job ends those itself); a running one stops at its next step.
    if not job.ended:
        return "Stopping after the current step; the model so far will be saved."
    if job.turns == 0:
        return "Cancelled before it started."
    step = job.paused_at_step
    if job.status == "stopped" and step:
        return f"Stopped while waiting for its next turn; the model at step {step} is saved."
    if job.status == "failed" and step:
        return f"Stopped while waiting for its next turn, but: {job.error or 'its model could not be saved.'}"
    return f"It had already ended ({job.status}) when the stop arrived."


def active_job_id(studio: Studio, owner: str) -> str | None:
    """This session's newest queued or running job: what a reloaded page re-attaches to, and what a Stop
    from a script (whose session has no page State) stops."""
    mine = [j for j in studio.jobs_of(owner) if not j.ended] if owner else []
    return max(mine, key=lambda j: j.submitted_at).job_id if mine else None


@dataclass
class JobView:
    status: str          # one headline: queued / running / finished / stopped / failed
    progress: str        # steps, time left, speed
    params: str          # trainable parameters and share
    ended: bool
    steps_seen: int      # how many loss points the plot holds (skip redrawing when unchanged)


def job_view(studio: Studio, job: JobStatus | None, now: float | None = None) -> JobView:
    if job is None:
        return JobView("No training started in this session yet.", "", "", True, 0)
    events = list(job.events)  # the worker appends while we read
    steps = [e for e in events if e.get("type") == "step"]
    params = next((e for e in reversed(events) if e.get("type") == "params"), None)
    params_text = (f"**Trainable parameters:** {params['trainable_params']:,} of {params['total_params']:,} "
                   f"({100 * params['trainable_share']:.2f}%)" if params else "")
    return JobView(_job_status(studio, job, events, steps, now or time.time()),
                   _job_progress(job, steps[-1] if steps else None), params_text,
                   job.ended, len(steps))


def _job_progress(job: JobStatus, last: dict | None) -> str:
    """Steps done, loss, time left and speed, from the newest step event."""
    if not last:
        return ""
    done, total = last["step"], last.get("max_steps") or 0
    progress = f"Step {done} of {total}" if total else f"Step {done}"
    if total:
        progress += f" ({100 * done / total:.0f}%)"
    progress += f" · loss {last['loss']:.3f}"
    if job.status == "running" and done and total > done:
        progress += f" · about {fmt_seconds(last['elapsed'] / done * (total - done))} left"
    if last.get("samples_per_second"):
        progress += f" · {last['samples_per_second']:.1f} examples/s"
    return progress


def _job_status(studio: Studio, job: JobStatus, events: list[dict], steps: list[dict], now: float) -> str:
    """The one-line headline for the job's state."""
    label = registry.label(job.spec.method)
    last = steps[-1] if steps else None
    if job.status == "queued":
        running = studio.running_job()
        ahead = f" Another {registry.label(running.spec.method)} training is running now." if running else ""
        return f"**Queued.** You are #{job.queue_position} in the queue.{ahead}"
    if job.status == "paused":
        at = job.paused_at_step
        return (f"**{label} paused at step {at}** so others can train: it is #{job.queue_position} "
                "in line and resumes from its checkpoint where it stopped.")
    if job.status == "stopping":
        return f"**Stopping {label}**: saving the model of its last step…"
    if job.status == "running":
        if job.stop_requested:
            return f"**Stopping {label}** after the current step…"
        note = next((e for e in reversed(events) if e.get("type") == "status"), None)
        # Before the first step the worker loads the model and tokenizes; after, it trains.
        doing = "training" if last or (note or {}).get("status") == "training" else "getting ready"
        if job.turns > 1 and last:   # resumed: the time it waited for its turn is not training time
            return (f"**{label} is {doing}** again, turn {job.turns} ({fmt_seconds(last['elapsed'])} of "
                    "training so far).")
        return f"**{label} is {doing}** ({fmt_seconds(now - (job.started_at or now))} so far)."
    if job.status == "completed":
        record = job.record
        trained = record.steps if record and record.steps is not None else len(steps)
        return (f"**Finished:** {label} trained {trained} steps in "
                f"{fmt_seconds(record.train_seconds if record else None)}. Try it in the Compare tab.")
    if job.status == "stopped":
        return (f"**Stopped:** {plain(job.error)}" if job.error else
                f"**Stopped** at step {last['step'] if last else 0}; the model so far is saved "
                "and shows up in the other tabs.")
    if job.status == "failed":
        error = job.error or "unknown error"
        status = f"**Failed:** {plain(error)}"
        if "No space left" in error and "disk is full" not in error:  # said once, by whoever says it first
            status += " The disk is full: delete runs you no longer need (Runs tab), then train again."
        return status
    return f"**{job.status.capitalize()}:** {plain(job.error or '')}"


MAX_SMOOTHING = 50
MAX_OWN_OVERLAYS = 5   # more curves than this make the chart unreadable on a projector
LEGEND_NAME_CHARS = 32   # a run's name in the loss chart's legend is cut beyond this, with an ellipsis


def loss_view(studio: Studio, job: JobStatus | None = None, owner: str | None = None, own_runs: bool = False,
              smoothing=1, log_scale: bool = False):
    """The loss plot: this session's job boldest, the newest earlier run of each other method dotted.

    own_runs adds the person's own earlier runs (newest first, a few); smoothing draws a moving
    average over that many steps with the raw points faint; log_scale puts the loss on a log axis.
    """
    curves: dict = {}
    current_method = job.spec.method if job is not None else None
    if job is not None:
        steps = [e for e in list(job.events) if e.get("type") in ("step", "eval")]  # with its validation loss
        curves[f"{registry.label(current_method)} (this run)"] = (current_method, steps)
    earlier = []
    if own_runs is True and owner:
        mine = [r for r in studio.runs() if studio.owns(r, owner) and r.status in ("completed", "stopped")
                and (job is None or r.run_id != job.run_id)]
        earlier += [(r, True) for r in mine[:MAX_OWN_OVERLAYS]]
    for method in registry.NAMES:
        done = [r for r in studio.loadable_runs(method) if r.status == "completed"]
        if method != current_method and done and all(r.run_id != done[0].run_id for r, _ in earlier):
            earlier.append((done[0], studio.owns(done[0], owner)))
    named: set[str] = set()
    for record, yours in earlier:
        try:
            events = [e for e in studio.run_events(record.run_id) if e.get("type") == "step"]
        except RunNotFound:
            continue
        # The chart's short name (an experiment's run reads "exp 213754-71eb"), cut with an ellipsis:
        # cutting the whole label at a width left "Full fine" and "Prompt tunin" in the legend.
        label = f"{registry.label(record.method)}: {short_run_name(record, width=LEGEND_NAME_CHARS)}"
        if label in named:   # two runs whose short names agree: the run id tells them apart
            label = f"{label} ({record.run_id})"
        named.add(label)
        curves[label + (" · yours" if yours else "")] = (record.method, events)
    return loss_figure(curves, title="Training loss" if job is not None else "Training loss of earlier runs",
                       smoothing=smoothing_window(smoothing), log_scale=log_scale is True)


def smoothing_window(value) -> int:
    """A slider's raw value as a moving-average window: a whole number from 1 to MAX_SMOOTHING (else 1)."""
    try:
        window = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 1
    return min(max(window, 1), MAX_SMOOTHING)


# ------------------------------------------------------------------ what Start will do, said before it

def method_help(studio: Studio, method: str) -> str:
    """The method's description plus its trainable share, counted for the base model actually loaded."""
    found = registry.find(method) or registry.get(registry.DEFAULT_TRAINING)
    defaults = found.settings_from()
    shares = studio.method_shares()
    if found.name in shares:
        trainable, total = shares[found.name]
        model = plain(studio.base.name) + (" (the offline stand-in)" if studio.base.is_standin else "")
    else:  # no shape to count from: say it for the default model, and say that it is the default's
        from studio.model.memory import FLAN_T5_SHAPES, t5_parameter_count

        shape = FLAN_T5_SHAPES["google/flan-t5-small"]
        base = t5_parameter_count(shape)
        trainable = found.trainable_params(shape, defaults)
        total = base if found.whole_model else base + trainable
        model = "FLAN-T5-small (the default model; other models differ)"
    return (f"{found.help}  \nOn {model} with the defaults ({found.describe(defaults)}): "
            f"**{trainable:,}** of {total:,} parameters train ({100 * trainable / total:.2f}%).")


def budget_text(studio: Studio, steps, batch_size, train_size, method: str | None = None) -> str:
    """Before Start: pairs in the training split, the subset actually used, the epochs the budget means,
    and how long it trains here against the room's ceiling per run (for `method`, or each method)."""
    try:
        cfg = TrainConfig(steps=parse(TrainConfig, "steps", steps), batch_size=parse(TrainConfig, "batch_size",
                                                                                      batch_size),
                          train_size=parse(TrainConfig, "train_size", train_size))
    except ValueError as exc:
        return f"⚠️ {plain(exc)}"
    plan = studio.training_plan(cfg)
    available, used, epochs = plan["pairs_available"], plan["pairs_used"], plan["epochs"]
    if not available:
        return "⚠️ The training split has no dialogues: training cannot start."
    subset = (f"all **{used:,}** dialogue–summary pairs of the training split (the subset of {cfg.train_size:,} "
              f"is more than there are)" if used < cfg.train_size else
              f"**{used:,}** of the {available:,} dialogue–summary pairs in the training split")
    passes = f"about **{epochs:.1f} passes** (epochs)" if epochs >= 1.05 else \
        f"**{epochs:.2f}** of one pass (epoch)"
    line = (f"**Start will train** {cfg.steps:,} steps × batch {cfg.batch_size} = {cfg.steps * cfg.batch_size:,} "
            f"examples on {subset}: {passes} over them.")
    timing = time_text(studio, cfg, method)
    return f"{line}  \n{timing}" if timing else line


def time_text(studio: Studio, cfg: TrainConfig, method: str | None = None) -> str:
    """"about 12 min of training here; this room allows 3 min per run", from the step time measured here."""
    from studio.service.limits import basis, duration

    methods = [method] if method in registry.NAMES else list(registry.NAMES)
    estimates = {m: studio.run_time_estimate(m, cfg) for m in methods}
    estimates = {m: e for m, e in estimates.items() if e is not None}
    if not estimates:
        return ""
    low, high = min(e["seconds"] for e in estimates.values()), max(e["seconds"] for e in estimates.values())
    spread = duration(high) if duration(low) == duration(high) else \
        f"{duration(low)} to {duration(high, about=False)} depending on the method"
    how = basis(max(estimates.values(), key=lambda e: e["measured_runs"]))
    ceiling = studio.run_time_ceiling()
    if ceiling is None:
        return f"**Time here:** {spread} of training ({how})."
    over = [registry.label(m) for m, e in estimates.items() if e["seconds"] > ceiling]
    allows = f"this room allows {duration(ceiling, about=False)} per run"
    if not over:
        return f"**Time here:** {spread} of training ({how}); {allows}."
    slowest = max(estimates.values(), key=lambda e: e["step_seconds"])
    fits = max(1, int(ceiling // slowest["step_seconds"])) if slowest["step_seconds"] > 0 else 1
    which = "" if len(over) == len(estimates) else f" for {', '.join(over)}"
    return (f"⚠️ **Time here:** {spread} of training ({how}); {allows}, so Start will refuse it{which}: "
            f"ask for at most {fits:,} steps.")


def form_of_job(job: JobStatus) -> TrainForm:
    """The form that asked for `job`: what a reloaded page shows while it follows the job."""
    spec, cfg = job.spec, job.spec.train
    form = TrainForm(method=spec.method, steps=cfg.steps, batch_size=cfg.batch_size, train_size=cfg.train_size,
                     learning_rate="" if cfg.learning_rate is None else f"{cfg.learning_rate:g}", seed=cfg.seed,
                     name="" if spec.name == job.run_id else spec.name, report_to=cfg.report_to)
    method = registry.find(spec.method)
    for s in _form_specs(method) if method is not None and spec.settings is not None else ():
        value = getattr(spec.settings, s.field)
        setattr(form, s.field, list(value) if isinstance(value, tuple) else value)
    return form


def presenter_mode(studio: Studio, query_params) -> bool:
    """Presenter mode: set for the whole studio (STUDIO_PRESENTER=1) or for one page (?presenter=1)."""
    value = str((query_params or {}).get("presenter", "")).strip().lower()
    return bool(studio.settings.presenter) or value in ("1", "true", "yes", "on")


# ------------------------------------------------------------------ "Copy as command"

def command_text(form: TrainForm, gpus: int = 2) -> str:
    """Shell lines for the form as it stands: plain, then with torchrun (raises ValueError on a bad form)."""
    cfg, overrides = train_request(form)
    settings = registry.method_settings(form.method, overrides)
    name = text("run name", form.name, 1000)[:80]
    single = train_command(form.method, cfg, settings, name=name)
    several = train_command(form.method, cfg, settings, name=name, launcher="torchrun", gpus=gpus)
    return (f"# this machine (CPU or one GPU)\n{single}\n\n"
            f"# {gpus} GPUs on one machine (DDP; the batch size is per GPU)\n{several}\n")


# ------------------------------------------------------------------ the base model: its memory line and switch

def switch_base(studio: Studio, name) -> str:
    """Switching the base changes the studio for everyone: only where the operator allows it
    (STUDIO_ALLOW_BASE_SWITCH=1), and never in presenter mode."""
    refuse_in_presenter_mode(studio, "switching the base model")
    if not studio.settings.allow_base_switch:
        raise PermissionError("Switching the base model is the operator's choice on this studio "
                              "(STUDIO_ALLOW_BASE_SWITCH=1); it changes the studio for everyone.")
    return plain(studio.switch_base(name))


def memory_text(studio: Studio, method, batch_size) -> str:
    """Training memory: needs about 2.1 GB (LoRA, batch size 8, on google/flan-t5-base; ...)"."""
    method = one_of("method", method, registry.NAMES)
    try:
        batch = parse(TrainConfig, "batch_size", batch_size)
    except ValueError:
        return ""  # the form shows its own message for a bad batch size when Start is pressed
    estimate = studio.memory_estimate(method, batch)
    return (f"Training memory: {estimate['text']} ({registry.label(method)}, batch size {batch}, on "
            f"{plain(studio.base.name)}; an estimate from the model's shape).")


# ------------------------------------------------------------------ on ZeroGPU: Start itself trains and streams

@dataclass
class StreamView:
    status: str
    figure: object
    ended: bool = False
    run_id: str | None = None


@dataclass
class StreamedSpec:
    method: str


@dataclass
class StreamedJob:
    """What loss_view reads of a job, for a training streamed inside a GPU call: no queued Job exists there."""
    spec: StreamedSpec
    events: list[dict] = field(default_factory=list)   # the step events so far, appended as they arrive
    run_id: str | None = None


def train_stream(studio: Studio, owner: str, form: TrainForm) -> Iterator[StreamView]:
    """One view per loss point while the run trains, then the final one; bad input raises before any GPU work."""
    require_session(owner)
    cfg, overrides = train_request(form)
    name = text("run name", form.name, 1000)
    streamed = StreamedJob(StreamedSpec(form.method))
    points = streamed.events
    for event in studio.train_streaming(form.method, cfg, overrides, owner=owner, name=name):
        if event["type"] == "step":
            points.append(event)
            yield StreamView(f"Training on the GPU: step {event['step']}/{event['max_steps']}, "
                             f"loss {event['loss']:.4f}", loss_view(studio, streamed))
        elif event["type"] == "done":
            record = event["record"]
            ending = ("finished" if record.status == "completed" else
                      "stopped at the GPU time limit; the model so far is saved" if record.status == "stopped"
                      else f"failed: {plain(record.error or '')}")
            yield StreamView(f"**{plain(studio.run_label(record))}** {ending}.", loss_view(studio, streamed),
                             ended=True, run_id=record.run_id)
