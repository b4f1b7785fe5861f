"""The Train tab's "Train all three": the budget form's checks, the progress lines, the result in words.

    experiment = start_experiment(studio, owner, ExperimentForm(steps=30))
    view = experiment_view(studio, studio.experiment(experiment.experiment_id))
    view.methods      # one line per method: queued / step 12 of 30 / finished / failed
    view.sentences    # "LoRA beats Full fine-tuning on ROUGE-L by 2.1 points (0.4 to 3.8)", ...
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...config import (
    METHOD_LABELS,
    METHODS,
    ORIGINAL,
    PRESETS,
    EvaluationSettings,
    GenerationSettings,
    TrainConfig,
)
from ...declare import parse
from ...formatting import pairs_text
from ...plots import loss_figure, rouge_figure
from .common import fmt_seconds, plain, refuse_in_presenter_mode, some_of

if TYPE_CHECKING:
    from ...engine import Studio
    from ...experiment import Experiment


def _preset(name: str):
    return field(default_factory=lambda: PRESETS["quick"][name])


@dataclass
class ExperimentForm:
    """The experiment's budget as the widgets hand it over (numbers may be floats, text or None)."""
    methods: list[str] | tuple[str, ...] = METHODS
    steps: float | None = _preset("steps")
    batch_size: float | None = _preset("batch_size")
    train_size: float | None = _preset("train_size")
    learning_rate: float | str | None = None       # blank: each method keeps its own
    seed: float | None = field(default_factory=lambda: TrainConfig().seed)
    limit: float | None = field(default_factory=lambda: EvaluationSettings().limit)


def experiment_request(form: ExperimentForm) -> tuple[list[str], TrainConfig, int]:
    """Check the form: (methods, the shared budget, how many test dialogues)."""
    methods = some_of("methods", form.methods, METHODS)
    if not methods:
        raise ValueError("Tick at least one method to train.")
    cfg = TrainConfig(**{name: parse(TrainConfig, name, getattr(form, name))
                         for name in ("steps", "batch_size", "train_size", "seed")},
                      learning_rate=parse(TrainConfig, "learning_rate", form.learning_rate, blank=None))
    limit = parse(EvaluationSettings, "limit", form.limit)
    return methods, cfg.validate(), limit


def start_experiment(studio: Studio, owner: str, form: ExperimentForm, client=None) -> Experiment:
    """`client`: who asks (a Caller: person and address), charged like any other training."""
    refuse_in_presenter_mode(studio, "training")
    if not owner:
        raise ValueError("The page has not finished loading; try again in a moment.")
    methods, cfg, limit = experiment_request(form)
    return studio.start_experiment(methods, cfg, owner, limit=limit, settings=GenerationSettings(), client=client)


def stop_experiment(studio: Studio, experiment_id: str | None, owner: str) -> str:
    experiment = studio.experiment(experiment_id)
    if experiment is None:
        raise ValueError("There is no experiment of yours to stop.")
    if experiment.ended:
        raise ValueError("That experiment has already ended.")
    if not studio.stop_experiment(experiment_id, owner):
        raise PermissionError("Only the session that started this experiment can stop it.")
    return "Stopping every training of the experiment; there will be no evaluation."


def active_experiment_id(studio: Studio, owner: str) -> str | None:
    """This session's experiment still under way, to re-attach to after a page reload."""
    mine = [e for e in studio.experiments_of(owner) if not e.ended] if owner else []
    return mine[-1].experiment_id if mine else None


@dataclass
class ExperimentView:
    status: str          # the headline
    methods: str         # one line per method
    sentences: str       # the pairwise differences in plain words, once evaluated
    ended: bool
    has_result: bool


def experiment_view(studio: Studio, experiment: Experiment | None) -> ExperimentView:
    if experiment is None:
        return ExperimentView("Train all three methods on one budget, then compare them on the same test "
                              "dialogues.", "", "", True, False)
    lines = [_method_line(studio, method, job) for method, job in experiment.trainings.items()]
    result = experiment.result or {}
    return ExperimentView(_headline(experiment, studio), "\n".join(lines), _sentences(result), experiment.ended,
                          bool(result.get("scores")))


def _budget_text(budget: dict, pairs_used: int | None = None) -> str:
    """The shared budget as used: the pairs actually trained on, which a small split caps below the
    subset size asked for (48 of "400 pairs" offline)."""
    rate = "each method's own learning rate" if budget.get("learning_rate") is None else \
        f"learning rate {budget['learning_rate']:g}"
    return (f"{budget['steps']} steps × batch {budget['batch_size']} from "
            f"{pairs_text(budget.get('train_size'), pairs_used)}, seed {budget['seed']}, {rate}")


def _pairs_used(studio: Studio | None, experiment: Experiment) -> int | None:
    """The training pairs the experiment's budget uses on this data (as each run's run.json records)."""
    try:
        return studio.training_plan(experiment.train)["pairs_used"] if studio is not None else None
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def test_dialogues(studio: Studio, asked: int) -> int:
    """How many test dialogues an evaluation of `asked` really scores: the split may hold fewer."""
    data = getattr(studio, "data", None)
    return min(int(asked), len(data.split("test"))) if data is not None else int(asked)


def pairs_available(studio: Studio) -> int:
    """Dialogue-summary pairs in the training split (the most any budget can use)."""
    return studio.training_plan(TrainConfig(train_size=None))["pairs_available"]


def _headline(experiment: Experiment, studio: Studio | None = None) -> str:
    stage, budget = experiment.stage, _budget_text(experiment.budget, _pairs_used(studio, experiment))
    if experiment.status == "training":
        return (f"**Training {METHOD_LABELS[stage['method']]}** ({stage['index']} of {stage['of']}) · {budget}"
                if stage.get("stage") == "training" else f"**Training** · {budget}")
    if experiment.status == "evaluating":
        which = "the original model" if stage.get("model") == ORIGINAL else METHOD_LABELS.get(stage.get("method"), "")
        shown = test_dialogues(studio, experiment.limit)
        return (f"**Evaluating {which}** ({stage.get('index', 1)} of {stage.get('of', 1)}) on "
                f"{shown} test dialogues")
    if experiment.status == "completed":
        result = experiment.result or {}
        return (f"**Experiment finished** in {fmt_seconds(result.get('seconds'))} · {budget} · "
                f"{result.get('examples', 0)} test dialogues")
    if experiment.status == "stopped":
        return "**Experiment stopped.** The runs trained so far are saved; nothing was evaluated."
    if experiment.status == "failed":
        return f"**Experiment failed:** {plain(experiment.error or 'unknown error')}"
    return "**Starting the experiment…**"


def _method_line(studio: Studio, method: str, job) -> str:
    label = METHOD_LABELS[method]
    if job.status == "queued":
        return f"- {label}: queued (#{studio.queue_position(job.job_id)} in the queue)"
    last = job.latest("step")
    if job.status == "running":
        if not last:
            return f"- {label}: getting ready"
        total = last.get("max_steps") or 0
        val = job.latest("eval")
        extra = f" · validation {val['eval_loss']:.3f}" if val else ""
        return f"- {label}: step {last['step']} of {total} · loss {last['loss']:.3f}{extra}"
    if job.status == "completed":
        record = job.record or {}
        return f"- {label}: finished {record.get('steps', '?')} steps in {fmt_seconds(record.get('train_seconds'))}"
    if job.status == "failed":
        return f"- {label}: **failed**: {plain(job.error or 'unknown error')}"
    return f"- {label}: {job.status}"


def _sentences(result: dict) -> str:
    lines = [f"- {method} did not complete: {plain(error)}" for method, error in result.get("failed", {}).items()]
    lines += [f"- {pair['sentence']}." for pair in result.get("paired", [])]
    if not lines:
        return ""
    return ("**Every pair, with its 95% paired-bootstrap interval (ROUGE points):**\n\n" + "\n".join(lines))


def experiment_loss_view(experiment: Experiment | None):
    """The training (and validation) loss of each method of the experiment, on one plot."""
    curves = {}
    for method, job in (experiment.trainings.items() if experiment is not None else ()):
        curves[METHOD_LABELS[method]] = (method, [e for e in list(job.events) if e.get("type") in ("step", "eval")])
    return loss_figure(curves, title="Training loss of the experiment", same_weight=True)


def experiment_rouge_view(experiment: Experiment | None):
    result = (experiment.result or {}) if experiment is not None else {}
    methods = {run_id: method for method, run_id in result.get("runs", {}).items()}
    return rouge_figure(result.get("scores", {}), result.get("labels", {}), methods)
