"""The "Train all three" section's handlers and the Runs tab's experiment grouping, without a browser."""
from types import SimpleNamespace

import pytest

from studio.config.settings import PRESETS
from studio.model.methods import registry
from studio.ui.handlers import runs as hr
from studio.ui.handlers import train_experiment as hx
from tests.studios import a_record

BUDGET = {"steps": 30, "epochs": None, "batch_size": 8, "train_size": 400, "seed": 42, "learning_rate": None}


def _job(status, events=(), record=None, error=None):
    job = SimpleNamespace(job_id="j-" + status, status=status, events=list(events), record=record, error=error,
                          run_id="run-" + status, queue_position=2 if status in ("queued", "paused") else 0)
    job.latest = lambda kind="step": next((e for e in reversed(job.events) if e.get("type") == kind), None)
    return job


class FakeStudio:
    def __init__(self, experiment=None):
        self.started, self.stopped = [], []
        self._experiment = experiment
        self.settings = SimpleNamespace(presenter=False)   # the studio-wide switch the handlers check

    def start_experiment(self, methods, cfg, owner, limit, settings, client=None, seeds=1):
        self.started.append((methods, cfg, owner, limit))
        self.seeds = seeds
        return SimpleNamespace(experiment_id="exp-1")

    def experiment(self, experiment_id):
        return self._experiment if experiment_id == "exp-1" else None

    def experiments_of(self, owner):
        return [self._experiment] if self._experiment and owner == "alice" else []

    def stop_experiment(self, experiment_id, owner):
        self.stopped.append(owner)
        return owner == "alice"


def _experiment(status="training", stage=None, result=None, ended=False):
    trainings = {"full": _job("completed", record=a_record(steps=30, train_seconds=61.0)),
                 "lora": _job("running", [{"type": "step", "step": 12, "max_steps": 30, "loss": 1.234},
                                          {"type": "eval", "step": 10, "eval_loss": 1.5}]),
                 "prompt": _job("queued")}
    return SimpleNamespace(experiment_id="exp-1", trainings=trainings, status=status, budget=BUDGET, limit=50,
                           stage=stage or {"stage": "training", "method": "lora", "index": 2, "of": 3},
                           result=result, ended=ended, error=None, seeds=[42], reused=set(), runs={},
                           slots={m: (m, 42) for m in trainings}, finishable=False, elsewhere=False,
                           where="training lora", label_of=registry.label)


def test_the_form_becomes_one_budget_for_every_method():
    studio = FakeStudio()
    hx.start_experiment(studio, "alice", hx.ExperimentForm(methods=["lora", "full"], steps="12", learning_rate=""))
    methods, cfg, owner, limit = studio.started[0]
    assert methods == ["lora", "full"] and owner == "alice" and limit == 50
    assert (cfg.steps, cfg.batch_size, cfg.train_size, cfg.learning_rate) == (12, PRESETS["quick"]["batch_size"],
                                                                             PRESETS["quick"]["train_size"], None)


# No method ticked is the Studio's to refuse, where the request is checked as a whole
# (tests/test_experiment.py::test_bad_requests_queue_nothing); the form's own reading refuses the rest.
@pytest.mark.parametrize("form, message", [
    (hx.ExperimentForm(methods=["dreambooth"]), "Unknown methods"),
    (hx.ExperimentForm(steps="ten"), "must be a number"),
    (hx.ExperimentForm(steps=0), "number of steps"),
    (hx.ExperimentForm(limit=10**6), "number of dialogues"),
    (hx.ExperimentForm(learning_rate="-1"), "learning rate"),
])
def test_bad_forms_start_nothing(form, message):
    studio = FakeStudio()
    with pytest.raises(ValueError, match=message):
        hx.start_experiment(studio, "alice", form)
    assert studio.started == []
    with pytest.raises(ValueError, match="started nothing yet"):
        hx.start_experiment(studio, "", hx.ExperimentForm())


def test_progress_shows_one_line_per_method_and_the_stage():
    view = hx.experiment_view(FakeStudio(), _experiment())
    lines = view.methods.splitlines()
    assert lines[0] == "- Full fine-tuning: finished 30 steps in 61 s"
    assert lines[1] == "- LoRA: step 12 of 30 · loss 1.234 · validation 1.500"
    assert lines[2] == "- Prompt tuning: queued (#2 in the queue)"
    assert view.status.startswith("**Training LoRA** (2 of 3)") and "30 steps × batch 8 from 400 pairs" in view.status
    assert not view.ended and not view.has_result and view.sentences == ""
    # The stage said "training" while another person's run had gone ahead of this one: the job's own status wins.
    waiting = hx.experiment_view(FakeStudio(), _experiment(stage={"stage": "training", "method": "prompt",
                                                                  "index": 3, "of": 3, "run_id": "run-queued",
                                                                  "status": "running"}))
    assert waiting.status.startswith("**Waiting to train Prompt tuning** (3 of 3): another person's training "
                                     "goes first · 30 steps")
    evaluating = hx.experiment_view(FakeStudio(), _experiment(
        "evaluating", {"stage": "evaluating", "model": "original", "index": 1, "of": 4}))
    assert evaluating.status.startswith("**Evaluating the original model** (1 of 4) on 50 test dialogues")


def test_the_result_lands_as_rouge_and_sentences():
    result = {"runs": {"full": "r-full", "lora": "r-lora"}, "failed": {"prompt": "Out of memory"}, "seconds": 300,
              "examples": 50, "labels": {"original": "Original", "r-full": "Full fine-tuning", "r-lora": "LoRA"},
              "scores": {m: {k: {"mean": 0.3, "low": 0.25, "high": 0.35} for k in ("rouge1", "rouge2", "rougeL")}
                         for m in ("original", "r-full", "r-lora")},
              "paired": [{"sentence": "LoRA beats Full fine-tuning on ROUGE-L by 2.1 points (0.4 to 3.8)"}]}
    experiment = _experiment("completed", {"stage": "done"}, result, ended=True)
    view = hx.experiment_view(FakeStudio(), experiment)
    assert view.ended and view.has_result and view.status.startswith("**Experiment finished** in 5 min 00 s")
    assert "- Prompt tuning did not complete: Out of memory" in view.sentences
    assert "- LoRA beats Full fine-tuning on ROUGE-L by 2.1 points (0.4 to 3.8)." in view.sentences
    figure = hx.experiment_rouge_view(experiment)
    assert [trace.name for trace in figure.data] == ["Original", "Full fine-tuning", "LoRA"]
    assert figure.data[2].marker.color == "#1f77b4"  # LoRA's colour everywhere


def test_the_loss_plot_has_a_training_and_a_validation_line_per_method():
    figure = hx.experiment_loss_view(_experiment())
    names = [trace.name for trace in figure.data]
    assert names == ["Full fine-tuning", "LoRA", "LoRA: validation", "Prompt tuning"]
    assert list(figure.data[2].y) == [1.5]


def test_stop_and_reattach_are_for_the_owner_only():
    studio = FakeStudio(_experiment())
    with pytest.raises(PermissionError):
        hx.stop_experiment(studio, "exp-1", "mallory")
    assert "Stopping every training" in hx.stop_experiment(studio, "exp-1", "alice")
    with pytest.raises(ValueError, match="no experiment"):
        hx.stop_experiment(studio, "exp-unknown", "alice")
    assert hx.active_experiment_id(studio, "alice") == "exp-1"
    assert hx.active_experiment_id(studio, "mallory") is None
    ended = FakeStudio(_experiment(ended=True))
    with pytest.raises(ValueError, match="already ended"):
        hx.stop_experiment(ended, "exp-1", "alice")


def test_runs_of_one_experiment_are_grouped_with_the_budget_shown_once():
    marker = {"id": "exp-7", "budget": BUDGET, "methods": ["full", "lora"]}
    records = [a_record("lora-x", experiment=marker),
               a_record("solo", method="prompt"),  # trained between the two
               a_record("full-x", method="full", experiment=marker)]
    table = hr.runs_table(records)
    assert table["Run id"].tolist() == ["lora-x", "full-x", "solo"]
    assert table["Experiment"].tolist() == [
        "exp-7: 30 steps × batch 8, 400 pairs, seed 42, own learning rates", "↳ same experiment", ""]


class SmallDataStudio(FakeStudio):
    """The offline sample: 48 training pairs and 16 test dialogues, whatever the budget asks for."""

    data = SimpleNamespace(split=lambda name: [object()] * {"train": 48, "test": 16}[name])

    def training_plan(self, train):
        used = 48 if train.train_size is None else min(train.train_size, 48)
        return {"pairs_available": 48, "pairs_used": used}


def test_the_budget_shown_is_what_the_data_allowed_not_what_was_asked():
    experiment = _experiment()
    experiment.train = SimpleNamespace(train_size=400)
    view = hx.experiment_view(SmallDataStudio(), experiment)
    assert "30 steps × batch 8 from 48 pairs (400 asked; the split has no more)" in view.status
    evaluating = _experiment("evaluating", {"stage": "evaluating", "model": "original", "index": 1, "of": 4})
    evaluating.train = experiment.train
    assert "on 16 test dialogues" in hx.experiment_view(SmallDataStudio(), evaluating).status
    assert hx.test_dialogues(SmallDataStudio(), 50) == 16 and hx.pairs_available(SmallDataStudio()) == 48


def test_the_seeds_field_is_checked_and_passed_on():
    studio = FakeStudio()
    hx.start_experiment(studio, "alice", hx.ExperimentForm(seeds="3"))
    assert studio.seeds == 3
    for seeds, message in (("three", "must be a number"), (0, "number of seeds"), (6, "number of seeds")):
        with pytest.raises(ValueError, match=message):
            hx.start_experiment(FakeStudio(), "alice", hx.ExperimentForm(seeds=seeds))


class FinishingStudio(FakeStudio):
    def finish_experiment(self, experiment_id, owner, client=None):
        self.finished = (experiment_id, owner)
        return self._experiment


def test_finishing_is_refused_to_a_presenter_and_without_an_experiment():
    studio = FinishingStudio(_experiment(status="interrupted", ended=True))
    studio.settings.presenter = True
    with pytest.raises(PermissionError, match="Presenter mode"):
        hx.finish_experiment(studio, "exp-1", "alice")
    studio.settings.presenter = False
    with pytest.raises(ValueError, match="no experiment of yours to finish"):
        hx.finish_experiment(studio, "exp-unknown", "alice")
    with pytest.raises(ValueError, match="started nothing yet"):
        hx.finish_experiment(studio, "exp-1", "")
    hx.finish_experiment(studio, "exp-1", "alice")
    assert studio.finished == ("exp-1", "alice")


def test_the_verdict_leads_with_its_headline_and_says_once_what_the_interval_covers():
    pair = {"metric": "rougeL", "sentence": "LoRA beats Original on ROUGE-L by 2.1 points (0.4 to 3.8)"}
    verdict = {"headline": "On ROUGE-L over 50 test dialogues, LoRA is clearly better than Original.",
               "pairs": [pair, {**pair, "metric": "rouge1", "sentence": "No clear difference between Original "
                                                                         "and LoRA on ROUGE-1 (−1.0 to 2.0)"}],
               "note": "Each interval is a 95% paired-bootstrap interval over these 50 test dialogues.",
               "seeds": [42], "methods": {}}
    result = {"runs": {"lora": "r-lora"}, "failed": {}, "seconds": 10, "examples": 50, "seeds": [42],
              "scores": {"original": {}}, "paired": [], "verdict": verdict}
    text = hx.experiment_view(FakeStudio(), _experiment("completed", {"stage": "done"}, result, ended=True)).sentences
    blocks = text.split("\n\n")
    assert blocks[0] == f"**{verdict['headline']}**"
    assert blocks[1].startswith("**ROUGE-L, pair by pair**") and blocks[2] == f"- {pair['sentence']}."
    assert blocks[3].startswith("**ROUGE-1, pair by pair**")
    assert blocks[-1] == f"_{verdict['note']}_" and text.count("paired-bootstrap") == 1
