"""Endpoints for scripts only: one JSON object per call, and every refusal as gradio_client's AppError.

    app = Client("http://127.0.0.1:7860/")
    job = app.predict(method="lora", steps=30, api_name="/start_training")  # {"job_id", "run_id", "status", ...}
    job = app.predict(job_id=job["job_id"], api_name="/wait_job")           # returns once it has ended
    out = app.predict(dialogue="Anna: Lunch?", lora_run=job["run_id"], api_name="/summaries")
    out["lora"]["summary"]

The page's own events (/train, /job_status, /summarize, ...) keep their names and their
results (one value per component on the page). These add named results for scripts and
are never shown on the page. No `from __future__ import annotations` here: gr.api reads the
type hints to describe each endpoint. The parameters that follow the methods (each method's
settings for /start_training, a run per method for /summaries) are built from the registry,
under the names the Train form and the CLI use.
"""
import asyncio
import functools
import inspect
import logging
import re
import time

import gradio as gr

from studio.model.methods import registry
from studio.service.engine import USER_ERRORS

from .context import GENERATE, GENERATE_WORKERS, UiContext
from .handlers import compare as hc
from .handlers import train as ht
from .handlers.common import NONE
from .turns import current_caller, session_owner, takes_turn

log = logging.getLogger("studio.ui")
MAX_WAIT_SECONDS = 600.0   # one /wait_job call; a longer training is waited for by calling again
DEFAULT_WAIT_SECONDS = 600.0
WAIT_POLL_SECONDS = 0.25   # how often a waiting /wait_job looks again
_MARKUP = re.compile(r"\\([\\`*_{}\[\]()#|~])|\*\*")


def build(ctx: UiContext) -> None:
    """Register the script endpoints inside the app's Blocks."""
    studio = ctx.studio

    @script_errors
    @with_parameters(TRAIN_PARAMETERS, dict)
    def start_training(method: str, **fields) -> dict:
        """Queue a training for this session; returns its job_id, run_id and status at once (poll /job or
        call /wait_job for the end). Blank numbers take the Train tab's defaults."""
        given = {k: v for k, v in fields.items() if v is not None}
        owner = session_owner(studio, issue=True)
        job = ht.start_training(studio, owner, ht.TrainForm(method=method, **given),
                                client=current_caller(studio, token=owner))
        return job_result(studio, job)

    @script_errors
    def job(job_id: str = "") -> dict:
        """One training of this session as it is now (the newest one when job_id is blank)."""
        return job_result(studio, own_job(studio, job_id))

    @script_errors
    async def wait_job(job_id: str = "", timeout_s: float = DEFAULT_WAIT_SECONDS) -> dict:
        """Wait until this session's training has ended (at most timeout_s, up to 600 s per call), then
        return it; "ended" is false when the wait ran out first: call again."""
        found = own_job(studio, job_id)
        deadline = time.monotonic() + checked_wait(timeout_s)
        # On the event loop, not in a worker thread: a room of scripts waiting at once must not fill the
        # thread pool that every page's handlers run in.
        while not found.ended and time.monotonic() < deadline:
            await asyncio.sleep(min(WAIT_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        return job_result(studio, found)

    @script_errors
    @takes_turn(studio)
    @with_parameters(SUMMARY_PARAMETERS, dict)
    def summaries(dialogue: str, max_new_tokens: float, num_beams: float, references: str, **runs) -> dict:
        """Original's summary and each picked run's ("none" leaves a method out); with references (one per
        line), each one's ROUGE-L. A run that cannot summarize is refused, not skipped."""
        gen = hc.generation_settings(max_new_tokens, num_beams)
        refs = hc.parse_references(references)
        picks = {method: runs[f"{method}_run"] for method in registry.NAMES}
        return hc.summaries_result(studio, dialogue, picks, gen, refs or None)

    for fn in (start_training, job, wait_job):
        # Waiting ties up no generation slot: these only read the job (or queue one).
        gr.api(fn, api_name=fn.__name__, concurrency_limit=None)
    gr.api(summaries, api_name="summaries", concurrency_id=GENERATE, concurrency_limit=GENERATE_WORKERS)


def _parameter(name: str, hint, default) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=hint)


def _train_parameters() -> list[inspect.Parameter]:
    """/start_training's parameters: the method, the budget, then each method's settings by the Train form's
    names. A tuple setting (target modules) keeps its default here: a list reads badly in a call."""
    shared = [_parameter("method", str, registry.DEFAULT_TRAINING),
              *(_parameter(name, float | None, None) for name in ("steps", "batch_size", "train_size",
                                                                   "learning_rate", "seed")),
              _parameter("name", str, "")]
    own = [_parameter(s.field, float | None if s.kind in (int, float) else str | None, None)
           for _, s in registry.form_settings() if s.kind is not tuple]
    return shared + own


def _summary_parameters() -> list[inspect.Parameter]:
    """/summaries' parameters: the dialogue, a run per default method ("none" leaves it out), generation,
    references, then a run per optional method (after the rest: positional scripts keep their places)."""
    return [_parameter("dialogue", str, inspect.Parameter.empty),
            *(_parameter(f"{method}_run", str, NONE) for method in registry.DEFAULT_NAMES),
            _parameter("max_new_tokens", float, 64), _parameter("num_beams", float, 1),
            _parameter("references", str, ""),
            *(_parameter(f"{method}_run", str, NONE) for method in registry.OPTIONAL_NAMES)]


TRAIN_PARAMETERS = _train_parameters()
SUMMARY_PARAMETERS = _summary_parameters()


def with_parameters(parameters: list[inspect.Parameter], returns):
    """Decorator: give a handler that takes **keywords the signature (names, defaults, type hints) gr.api
    describes its endpoint by; a call's arguments are bound to it, defaults filled in, and passed by name."""
    signature = inspect.Signature(parameters, return_annotation=returns)

    def wrap(fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return fn(**bound.arguments)
        call.__signature__ = signature
        call.__annotations__ = {**{p.name: p.annotation for p in parameters}, "return": returns}
        del call.__wrapped__   # the signature above is the endpoint's, not fn's
        return call
    return wrap


def script_errors(fn):
    """A user's mistake raises gr.Error with its message in plain text (gradio_client: AppError);
    a bug raises one short line, its traceback going to the log. For plain and async endpoints alike."""
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def run_async(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - told apart in _as_app_error
                raise _as_app_error(fn, exc) from None
        return run_async

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - told apart in _as_app_error
            raise _as_app_error(fn, exc) from None
    return run


def _as_app_error(fn, exc: Exception) -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, USER_ERRORS):
        return gr.Error(plain_text(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc),
                        print_exception=False)
    log.error("API endpoint %s failed", fn.__name__, exc_info=exc)
    return gr.Error(f"Something went wrong ({type(exc).__name__}); the details are in the server log.",
                    print_exception=False)


def plain_text(message) -> str:
    """A message without the page's Markdown (bold, escapes): scripts print it as it is."""
    return _MARKUP.sub(lambda m: m.group(1) or "", str(message)).strip()[:400] or "Refused."


def own_job(studio, job_id):
    """This session's job `job_id` (its newest when blank); another session's job is not found."""
    if not isinstance(job_id, str):
        raise ValueError("job_id must be text: the job_id /start_training returned.")
    owner = session_owner(studio)
    mine = studio.jobs_of(owner) if owner else []
    if not job_id.strip():
        if not mine:
            raise ValueError("This session has started no training yet: call /start_training first.")
        return max(mine, key=lambda j: j.submitted_at)
    found = next((j for j in mine if j.job_id == job_id.strip()), None)
    if found is None:
        raise ValueError(f"No training {job_id.strip()[:80]!r} in this session: use the job_id /start_training "
                         "returned, from the same Client.")
    return found


def checked_wait(timeout_s) -> float:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s == timeout_s:
        raise ValueError("timeout_s must be a number of seconds.")
    if timeout_s < 0:
        raise ValueError("timeout_s must be 0 or more seconds.")
    return min(float(timeout_s), MAX_WAIT_SECONDS)


def job_result(studio, job, now: float | None = None) -> dict:
    """One training as a script reads it: ids, state, progress and the page's status line in plain text."""
    events = list(job.events)
    last = next((e for e in reversed(events) if e.get("type") == "step"), None)
    view = ht.job_view(studio, job, now or time.time())
    return {"job_id": job.job_id, "run_id": job.run_id, "method": job.spec.method,
            "method_label": registry.label(job.spec.method),
            "status": job.status, "ended": job.ended,
            "queue_position": job.queue_position if job.status in ("queued", "paused") else None,
            "step": last["step"] if last else 0, "max_steps": (last or {}).get("max_steps") or job.spec.train.steps,
            "loss": last["loss"] if last else None, "error": job.error,
            "message": plain_text(view.status)}
