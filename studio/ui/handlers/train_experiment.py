"""The Train tab's "Train all three": the budget form's checks, the progress lines, the result in words.

    experiment = start_experiment(studio, owner, ExperimentForm(steps=30))
    view = experiment_view(studio, studio.experiment(experiment.experiment_id))
    view.methods      # one line per method: queued / step 12 of 30 / finished / failed
    view.sentences    # the headline ("On ROUGE-L ..., LoRA is clearly better than Original."), then every pair
    finish_experiment(studio, experiment_id, owner)   # one a restart cut short: train what is missing, evaluate
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studio.config.declare import parse
from studio.config.settings import ORIGINAL, PRESETS, EvaluationSettings, GenerationSettings, TrainConfig
from studio.measure.evaluation import METRIC_NAMES
from studio.model.methods import registry
from studio.service.experiment import ExperimentSettings, slot_parts
from studio.ui.formatting import pairs_text
from studio.ui.plots import loss_figure, rouge_figure

from .common import fmt_seconds, plain, refuse_in_presenter_mode, require_session, some_of

if TYPE_CHECKING:
    from studio.service.engine import Studio
    from studio.service.experiment import ExperimentStatus
    from studio.store.records import RunRecord


def _preset(name: str):
    return field(default_factory=lambda: PRESETS["quick"][name])


@dataclass
class ExperimentForm:
    """The experiment's budget as the widgets hand it over (numbers may be floats, text or None)."""
    methods: list[str] | tuple[str, ...] = registry.DEFAULT_NAMES   # a method offered beside them is ticked by hand
    steps: float | None = _preset("steps")
    batch_size: float | None = _preset("batch_size")
    train_size: float | None = _preset("train_size")
    learning_rate: float | str | None = None       # blank: each method keeps its own
    seed: float | None = field(default_factory=lambda: TrainConfig().seed)
    limit: float | None = field(default_factory=lambda: EvaluationSettings().limit)
    seeds: float | None = field(default_factory=lambda: ExperimentSettings().seeds)
    report_to: str = field(default_factory=lambda: TrainConfig().report_to)   # every run of it goes there


def experiment_request(form: ExperimentForm) -> tuple[list[str], TrainConfig, int, int]:
    """Read the form: (methods, the shared budget, how many test dialogues, how many seeds).

    Text becomes numbers here (a field that is not one is named); whether the request makes sense as a
    whole (at least one method, the budget, the seeds' range) the Studio checks, once, when it starts it."""
    methods = some_of("methods", form.methods, registry.NAMES)
    cfg = TrainConfig(**{name: parse(TrainConfig, name, getattr(form, name))
                         for name in ("steps", "batch_size", "train_size", "seed")},
                      learning_rate=parse(TrainConfig, "learning_rate", form.learning_rate, blank=None),
                      report_to=parse(TrainConfig, "report_to", form.report_to, blank="none"))
    limit = parse(EvaluationSettings, "limit", form.limit)
    seeds = parse(ExperimentSettings, "seeds", form.seeds)
    return methods, cfg, limit, seeds


def start_experiment(studio: Studio, owner: str, form: ExperimentForm, client=None) -> ExperimentStatus:
    """`client`: who asks (a Caller: person and address), charged like any other training."""
    refuse_in_presenter_mode(studio, "training")
    require_session(owner)
    methods, cfg, limit, seeds = experiment_request(form)
    return studio.start_experiment(methods, cfg, owner, limit=limit, settings=GenerationSettings(), client=client,
                                   seeds=seeds)


def finish_experiment(studio: Studio, experiment_id: str | None, owner: str, client=None) -> ExperimentStatus:
    """Finish an experiment a restart cut short: it trains again, so never from a presenter's page."""
    refuse_in_presenter_mode(studio, "training")
    require_session(owner)
    if studio.experiment(experiment_id) is None:
        raise ValueError("There is no experiment of yours to finish.")
    return studio.finish_experiment(experiment_id, owner, client=client)


def newest_experiment_id(studio: Studio, owner: str, running: bool = False) -> str | None:
    """The session's newest experiment (with `running`, the newest not yet ended), for a call that names none."""
    mine = [e for e in (studio.experiments_of(owner) if owner else []) if not (running and e.ended)]
    return max(mine, key=lambda e: e.started_at or 0).experiment_id if mine else None


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


def finishable_experiment_id(studio: Studio, owner: str) -> str | None:
    """This session's newest experiment a restart cut short, to show with its Finish button."""
    mine = [e for e in studio.experiments_of(owner) if e.finishable] if owner else []
    return mine[-1].experiment_id if mine else None


@dataclass
class ExperimentView:
    status: str          # the headline
    methods: str         # one line per method
    sentences: str       # the pairwise differences in plain words, once evaluated
    ended: bool
    has_result: bool
    finishable: bool = False   # cut short by a restart: the Finish button shows


def experiment_view(studio: Studio, experiment: ExperimentStatus | None) -> ExperimentView:
    if experiment is None:
        return ExperimentView("Train all three methods on one budget, then compare them on the same test "
                              "dialogues.", "", "", True, False)
    lines = [_slot_line(studio, experiment, key) for key in experiment.slots]
    result = experiment.result or {}
    return ExperimentView(_headline(experiment, studio), "\n".join(lines), _sentences(result), experiment.ended,
                          bool(result.get("scores")), experiment.finishable)


def _slot_line(studio: Studio, experiment: ExperimentStatus, key: str) -> str:
    """One training of the experiment: its job's progress here, else what its run on disk says."""
    label = experiment.label_of(key)
    job = experiment.trainings.get(key)
    if job is not None:
        return _method_line(studio, label, job)
    run_id = experiment.runs.get(key)
    if run_id is None:
        return f"- {label}: not started"
    try:
        record = studio.run(run_id)
    except KeyError:   # RunNotFound: cut short before its run was saved, or deleted since
        return f"- {label}: not finished (no run {plain(run_id)} on disk)"
    kept = " (kept from before the restart)" if key in experiment.reused else ""
    if record.status == "completed" and not record.model_missing:
        return _finished_line(label, record, kept)
    return f"- {label}: {plain(record.status)}, not finished" + (f": {plain(record.error)}" if record.error else "")


def _finished_line(label: str, record: RunRecord | None, kept: str = "") -> str:
    """A finished training's line: its steps and time as its record says ("?" where it has none)."""
    steps = "?" if record is None or record.steps is None else record.steps
    return f"- {label}: finished {steps} steps in {fmt_seconds(record.train_seconds if record else None)}{kept}"


def _budget_text(budget: dict, pairs_used: int | None = None, seeds: list | None = None) -> str:
    """The shared budget as used: the pairs actually trained on, which a small split caps below the
    subset size asked for (48 of "400 pairs" offline)."""
    rate = "each method's own learning rate" if budget.get("learning_rate") is None else \
        f"learning rate {budget['learning_rate']:g}"
    seed = f"seeds {seeds[0]}–{seeds[-1]}" if seeds and len(seeds) > 1 else f"seed {budget['seed']}"
    return (f"{budget['steps']} steps × batch {budget['batch_size']} from "
            f"{pairs_text(budget.get('train_size'), pairs_used)}, {seed}, {rate}")


def _pairs_used(studio: Studio | None, experiment: ExperimentStatus) -> int | None:
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


def _where_text(stopped_at: str | None) -> str:
    """Where an experiment was cut short, from its record's stage ("training lora" -> "while training LoRA")."""
    words = str(stopped_at or "starting")
    if words.startswith("training "):
        method, _, seed = words[len("training "):].partition(" ")
        return f"while training {plain(registry.label(method))}" + (f" {plain(seed)}" if seed else "")
    if words == "evaluating":
        return "while evaluating"
    return "before its first training started"


def _cut_short(experiment: ExperimentStatus, studio: Studio | None) -> str:
    trained = _trained_before(experiment)
    kept = [experiment.label_of(k) for k in experiment.slots if k in trained]
    missing = [experiment.label_of(k) for k in experiment.slots if k not in trained]
    done = f"{', '.join(kept)} finished" if kept else "no training finished"
    todo = (f"finishing trains {', '.join(missing)}, then evaluates" if missing else
            "every training finished; finishing evaluates them")
    return (f"**Experiment cut short** {_where_text(experiment.stopped_at)}: the app stopped. {done}; nothing was "
            f"evaluated. Finish the experiment: {todo}.")


def _trained_before(experiment: ExperimentStatus) -> set:
    """Slots whose run finished before the restart (read once per view from the run store)."""
    try:
        return set(experiment.trained_before())
    except OSError:   # the runs folder cannot be read just now: say nothing finished rather than fail the view
        return set()


def _headline(experiment: ExperimentStatus, studio: Studio | None = None) -> str:
    stage = experiment.stage
    budget = _budget_text(experiment.budget, _pairs_used(studio, experiment), experiment.seeds)
    if experiment.finishable:
        return _cut_short(experiment, studio)
    if experiment.elsewhere:
        return (f"**Under way in another process** ({plain(experiment.where)}): it is followed "
                "there, not on this page.")
    if experiment.status == "training":
        if stage.get("stage") != "training":
            return f"**Training** · {budget}"
        seed = f", seed {stage['seed']}" if len(experiment.seeds) > 1 and "seed" in stage else ""
        where = f"({stage['index']} of {stage['of']}{seed})"
        # The job's own status, live: the stage is written between waits, and another person's training
        # may have gone ahead of this one in the fair queue meanwhile.
        job = next((j for j in experiment.trainings.values() if j.run_id == stage.get("run_id")), None)
        if (job.status if job is not None else stage.get("status")) in ("queued", "paused"):
            return (f"**Waiting to train {registry.label(stage['method'])}** {where}: another person's training "
                    f"goes first · {budget}")
        return f"**Training {registry.label(stage['method'])}** {where} · {budget}"
    if experiment.status == "evaluating":
        which = "the original model" if stage.get("model") == ORIGINAL else registry.label(stage.get("method") or "")
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


def _method_line(studio: Studio, label: str, job) -> str:
    if job.status == "queued":
        return f"- {label}: queued (#{job.queue_position} in the queue)"
    last = job.latest("step")
    if job.status == "paused":
        return (f"- {label}: paused at step {job.paused_at_step} so others can train "
                f"(#{job.queue_position} in line)")
    if job.status == "running":
        if not last:
            return f"- {label}: getting ready"
        total = last.get("max_steps") or 0
        val = job.latest("eval")
        extra = f" · validation {val['eval_loss']:.3f}" if val else ""
        return f"- {label}: step {last['step']} of {total} · loss {last['loss']:.3f}{extra}"
    if job.status == "completed":
        return _finished_line(label, job.record)
    if job.status == "failed":
        return f"- {label}: **failed**: {plain(job.error or 'unknown error')}"
    return f"- {label}: {job.status}"


def _slot_label(key: str, seeds: list) -> str:
    method, seed = slot_parts(key, seeds[0] if seeds else 0)
    label = plain(registry.label(method))
    return f"{label} (seed {seed})" if len(seeds) > 1 else label


def _sentences(result: dict) -> str:
    """The verdict: its headline first, then what did not train, each pair, and once what the intervals cover."""
    seeds = result.get("seeds") or []
    failed = [f"- {_slot_label(key, seeds)} did not complete: {plain(error)}"
              for key, error in result.get("failed", {}).items()]
    verdict = result.get("verdict")
    if not verdict:   # no evaluation (stopped, failed), or a result kept before verdicts existed
        lines = failed + [f"- {pair['sentence']}." for pair in result.get("paired", [])]
        return ("**Every pair, with its 95% paired-bootstrap interval (ROUGE points):**\n\n" + "\n".join(lines)
                if lines else "")
    parts = [f"**{verdict['headline']}**"]
    if failed:
        parts.append("\n".join(failed))
    if len(verdict.get("seeds") or ()) > 1:
        parts.append("**Each method across its seeds (ROUGE-L):**\n\n" + "\n".join(
            f"- {registry.LABELS.get(m, 'Original')}: {100 * s['rougeL']['mean']:.1f} on average"
            + (f" (seeds: {', '.join(f'{100 * v:.1f}' for v in s['rougeL']['seed_means'])})" if m in registry.LABELS
               else "")
            for m, s in verdict["methods"].items()))
    by_metric: dict[str, list[str]] = {}
    for pair in verdict["pairs"]:
        by_metric.setdefault(pair["metric"], []).append(f"- {pair['sentence']}.")
    for metric, lines in by_metric.items():
        unit = "BLEU" if metric == "bleu" else "ROUGE"
        parts.append(f"**{METRIC_NAMES.get(metric, metric)}, pair by pair** ({unit} points, 95% interval):\n\n"
                     + "\n".join(lines))
    parts.append(f"_{verdict['note']}_")
    return "\n\n".join(parts)


def experiment_loss_view(experiment: ExperimentStatus | None):
    """The training (and validation) loss of each training of the experiment, on one plot."""
    curves = {}
    for key, job in (experiment.trainings.items() if experiment is not None else ()):
        curves[experiment.label_of(key)] = (experiment.slots[key][0],
                                            [e for e in list(job.events) if e.get("type") in ("step", "eval")])
    return loss_figure(curves, title="Training loss of the experiment", same_weight=True)


def experiment_rouge_view(experiment: ExperimentStatus | None):
    """ROUGE per run; with several seeds, per method (its mean over the seeds, the test-sample interval)."""
    result = (experiment.result or {}) if experiment is not None else {}
    verdict = result.get("verdict") or {}
    if len(verdict.get("seeds") or ()) > 1:
        labels = {ORIGINAL: "Original", **{m: f"{label} ({len(verdict['seeds'])} seeds)"
                                           for m, label in registry.LABELS.items()}}
        return rouge_figure(verdict["methods"], labels, {m: m for m in verdict["methods"]})
    seeds = result.get("seeds") or [0]
    methods = {run_id: slot_parts(key, seeds[0])[0] for key, run_id in result.get("runs", {}).items()}
    return rouge_figure(result.get("scores", {}), result.get("labels", {}), methods)
