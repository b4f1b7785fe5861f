"""Fair experiments: one budget for every method, the same test dialogues, every pair compared."""
import json
import time

import pytest

from studio.config.settings import GenerationSettings, TrainConfig
from studio.service.jobs import QueueFull
from tests.conftest import TINY_TRAIN

GEN = GenerationSettings(max_new_tokens=8)
BUDGET = TrainConfig(steps=3, seed=7, **TINY_TRAIN)


def test_experiment_trains_every_method_on_one_budget_and_pairs_every_model(studio):
    stages = []
    out = studio.run_experiment(["prompt", "full", "lora"], BUDGET, limit=3, settings=GEN, progress=stages.append)
    assert out["status"] == "completed" and out["failed"] == {}
    assert list(out["runs"]) == ["full", "lora", "prompt"]  # the usual order, whatever order was asked
    records = {m: studio.run(run_id) for m, run_id in out["runs"].items()}
    assert {r.status for r in records.values()} == {"completed"}
    assert {r.experiment["id"] for r in records.values()} == {out["experiment"]}
    budgets = [r.experiment["budget"] for r in records.values()]
    assert budgets[0] == budgets[1] == budgets[2] == out["budget"]
    assert out["budget"] == {"steps": 3, "epochs": None, "batch_size": 4, "train_size": 24, "seed": 7,
                             "learning_rate": None}
    for key in ("steps", "batch_size", "train_size", "seed"):  # what training really used, not just the label
        assert len({r.hyperparameters[key] for r in records.values()}) == 1
    # each method kept its own learning rate
    assert len({r.hyperparameters["learning_rate"] for r in records.values()}) == 3

    models = ["original", *out["runs"].values()]
    assert list(out["scores"]) == models and out["examples"] == 3
    for scores in out["scores"].values():
        for metric in ("rouge1", "rouge2", "rougeL"):
            assert scores[metric]["low"] <= scores[metric]["mean"] <= scores[metric]["high"]
    assert len(out["paired"]) == 6 * 4   # six pairs: ROUGE-1, ROUGE-2, ROUGE-L and corpus BLEU each
    assert {(p["a"], p["b"]) for p in out["paired"]} == {(a, b) for i, a in enumerate(models) for b in models[i + 1:]}
    for pair in out["paired"]:
        a, b, metric = out["scores"][pair["a"]], out["scores"][pair["b"]], pair["metric"]
        assert pair["difference"] == pytest.approx(b[metric]["mean"] - a[metric]["mean"])
        assert pair["low"] <= pair["difference"] <= pair["high"]
        assert pair["sentence"].startswith(("No clear difference", "Original", "Full", "LoRA", "Prompt"))
    assert out["seconds"] > 0

    training = [s for s in stages if s["stage"] == "training"]
    assert [s["method"] for s in training if s["status"] == "completed"] == ["full", "lora", "prompt"]
    assert {(s["method"], s["index"], s["of"]) for s in training} == {("full", 1, 3), ("lora", 2, 3),
                                                                       ("prompt", 3, 3)}
    evaluating = [s for s in stages if s["stage"] == "evaluating"]
    assert {s["index"] for s in evaluating} == {1, 2, 3, 4} and evaluating[-1]["of"] == 4
    assert stages[-1] == {"stage": "done", "status": "completed"}


def test_a_failed_training_is_reported_and_the_rest_evaluated(studio, monkeypatch):
    from studio.train import training

    real = training.prepare_model

    def broken_for_full(base_path, method, *args, **kwargs):
        if method == "full":
            raise RuntimeError("simulated crash")
        return real(base_path, method, *args, **kwargs)

    monkeypatch.setattr(training, "prepare_model", broken_for_full)
    out = studio.run_experiment(["full", "lora"], BUDGET, limit=2, settings=GEN)
    assert out["status"] == "completed"
    assert "simulated crash" in out["failed"]["full"]
    assert list(out["scores"]) == ["original", out["runs"]["lora"]]
    assert len(out["paired"]) == 4 and {p["b"] for p in out["paired"]} == {out["runs"]["lora"]}


def test_a_stop_ends_every_training_and_skips_the_evaluation(studio):
    experiment = studio.start_experiment(["lora", "prompt"], TrainConfig(steps=500, **TINY_TRAIN), owner="alice",
                                         limit=2, settings=GEN)
    with pytest.raises(QueueFull):  # one experiment per session at a time
        studio.start_experiment(["lora"], BUDGET, owner="alice")
    assert not studio.stop_experiment(experiment.experiment_id, "mallory")
    first = experiment.trainings["lora"]
    while first.latest("step") is None and first.status in ("queued", "running"):
        time.sleep(0.05)  # until the first step
    assert studio.stop_experiment(experiment.experiment_id, "alice")
    studio.wait_experiment(experiment.experiment_id, 300)
    assert experiment.status == "stopped" and experiment.result["scores"] == {}
    assert first.status == "stopped" and experiment.trainings["prompt"].status == "stopped"  # cancelled while queued
    assert experiment.result["runs"] == {"lora": first.run_id, "prompt": experiment.trainings["prompt"].run_id}


def test_a_stop_that_lands_while_the_next_round_is_being_queued_stops_that_round_too(studio, monkeypatch):
    """The experiment checks for a stop, then queues the next seed's trainings, which takes a moment (the
    queue reads every run.json for its estimate). A Stop inside that moment once found nothing new to stop,
    and the next round trained to its end for an experiment already "stopped"."""
    import threading

    submit, calls, started = studio.submit_training, [], threading.Event()
    holder = {}

    def stop_arrives_meanwhile(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:              # the second round, after the experiment looked for a stop
            started.wait()
            assert studio.stop_experiment(holder["id"], "alice")
        return submit(*args, **kwargs)

    monkeypatch.setattr(studio, "submit_training", stop_arrives_meanwhile)
    experiment = studio.start_experiment(["lora"], BUDGET, owner="alice", limit=2, settings=GEN, seeds=2)
    holder["id"] = experiment.experiment_id
    started.set()
    studio.wait_experiment(experiment.experiment_id, 600)
    assert len(calls) == 2 and experiment.status == "stopped"
    assert [job.status for job in experiment.trainings.values()] == ["completed", "stopped"]


@pytest.mark.parametrize("methods, message", [([], "at least one method"), (["dreambooth"], "Unknown method")])
def test_bad_requests_queue_nothing(studio, methods, message):
    with pytest.raises(ValueError, match=message):
        studio.start_experiment(methods, BUDGET, owner="bob")
    with pytest.raises(ValueError):
        studio.start_experiment(["lora"], TrainConfig(steps=0), owner="bob")
    with pytest.raises(ValueError):
        studio.start_experiment(["lora"], BUDGET, owner="bob", limit=0)
    assert studio.jobs_of("bob") == []


def test_an_experiments_trainings_are_charged_to_its_person_and_address(studio):
    # Experiments once queued their trainings without the client, so each session counted as
    # its own client: 8 sessions from one address queued 21 trainings past the address's cap.
    from studio.service.people import Caller

    studio.settings.people_per_address = 4
    alice = Caller.of("10.0.0.7", token="alice-token")
    first = studio.start_experiment(["full", "lora", "prompt"], BUDGET, "alice-token", limit=2, settings=GEN,
                                    client=alice)
    queued = [studio.jobs.get(job.job_id) for job in first.trainings.values()]   # the queue's own jobs
    assert {(job.client, job.address) for job in queued} == {(alice.person, "10.0.0.7")}
    bob = Caller.of("10.0.0.7", token="bob-token")    # same room: one more fits, the second is refused
    with pytest.raises(QueueFull, match="from your address"):
        studio.start_experiment(["full", "lora"], BUDGET, "bob-token", limit=2, settings=GEN, client=bob)
    # The refused experiment left nothing queued (it undoes its trainings), so a lone run still fits.
    assert sum(1 for job in studio.jobs.active() if job.address == "10.0.0.7") == 3
    studio.stop_experiment(first.experiment_id, "alice-token")
    studio.wait_experiment(first.experiment_id, 600)


def test_an_experiments_evaluation_takes_turns_at_the_generation_gate(studio):
    # An experiment once evaluated 4 models x 16 dialogues outside the gate, so a person's
    # summary waited 5.1 s instead of one decoding step.
    from studio.service.fairshare import current_turn

    inside_turn = []

    def progress(stage):
        if stage["stage"] == "evaluating":
            inside_turn.append(current_turn() is not None)

    out = studio.run_experiment(["lora"], BUDGET, limit=2, settings=GEN, progress=progress)
    assert out["status"] == "completed"
    assert inside_turn and all(inside_turn)


# ---------------------------------------------------------------- cut short by a restart
def _cut_short(studio, experiment_id: str, stage: str, methods: list[str], runs: dict) -> None:
    """Leave the record as a process killed at `stage` would have: under way, its process gone."""
    from studio.store.experiment_records import ExperimentRecords

    records = ExperimentRecords(studio.settings.runs_dir)
    record = records.get(experiment_id)
    record.update(methods=methods, runs=runs, status="evaluating" if stage == "evaluating" else "training",
                  stage=stage, result=None, finished_at=None, failed={},
                  process={"host": "a-host-long-gone", "pid": 1, "started": 0.0})
    records.save(record)


def test_an_experiment_cut_short_says_where_it_stopped_and_its_owner_finishes_it(studio, settings):
    from studio.service.engine import Studio
    from studio.ui.handlers import train_experiment as hx

    first = studio.run_experiment(["full"], BUDGET, limit=2, settings=GEN, owner="alice")
    full_run = first["runs"]["full"]
    record_path = settings.runs_dir / ".experiments" / f"{first['experiment']}.json"
    assert json.loads(record_path.read_text())["status"] == "completed"
    # Killed while LoRA trained: full done, LoRA's run never saved, prompt tuning never queued.
    _cut_short(studio, first["experiment"], "training lora", ["full", "lora", "prompt"],
               {"full": full_run, "lora": "lora-20250101-000000-dead"})

    restarted = Studio(settings)
    experiment = restarted.experiment(first["experiment"])
    assert experiment.status == "interrupted" and experiment.stopped_at == "training lora"
    view = hx.experiment_view(restarted, experiment)
    assert view.finishable and view.status.startswith("**Experiment cut short** while training LoRA")
    assert "Full fine-tuning finished" in view.status and "trains LoRA, Prompt tuning" in view.status
    assert view.methods.splitlines()[0].startswith("- Full fine-tuning: finished 3 steps")
    assert view.methods.splitlines()[2] == "- Prompt tuning: not started"
    assert hx.finishable_experiment_id(restarted, "alice") == first["experiment"]
    assert hx.finishable_experiment_id(restarted, "mallory") is None
    with pytest.raises(PermissionError):
        restarted.finish_experiment(first["experiment"], "mallory")

    out = restarted.finish_experiment(first["experiment"], "alice", wait=True)
    finished = restarted.experiment(first["experiment"])
    assert out["status"] == "completed" and out["failed"] == {}
    assert set(finished.trainings) == {"lora", "prompt"}     # only what was missing was trained
    assert out["runs"]["full"] == full_run and out["reused"] == ["full"]
    assert out["runs"]["lora"] != "lora-20250101-000000-dead"
    assert set(out["scores"]) == {"original", full_run, out["runs"]["lora"], out["runs"]["prompt"]}
    assert out["verdict"]["headline"].startswith("On ROUGE-L over 2 test dialogues")
    for method in ("lora", "prompt"):   # the new runs belong to the same experiment
        assert restarted.run(out["runs"][method]).experiment_id == first["experiment"]
    saved = json.loads(record_path.read_text())
    assert saved["status"] == "completed" and saved["stage"] == "done" and saved["result"]["runs"] == out["runs"]

    # Killed during the evaluation: every run is there, so finishing trains nothing and evaluates.
    _cut_short(restarted, first["experiment"], "evaluating", ["full", "lora", "prompt"], out["runs"])
    again = Studio(settings)
    assert again.experiment(first["experiment"]).stopped_at == "evaluating"
    assert "while evaluating" in hx.experiment_view(again, again.experiment(first["experiment"])).status
    out = again.finish_experiment(first["experiment"], "alice", wait=True)
    assert again.experiment(first["experiment"]).trainings == {}
    assert out["status"] == "completed" and sorted(out["reused"]) == ["full", "lora", "prompt"]
    assert len(out["scores"]) == 4
    with pytest.raises(ValueError, match="not cut short"):
        again.finish_experiment(first["experiment"], "alice")
    assert not Studio(settings).experiment(first["experiment"]).finishable


def test_cli_resume_finishes_an_experiment_cut_short(run_cli, studio):
    # run_cli's runs folder is the studio fixture's (both under tmp_path/runs): the CLI is the operator there.
    first = studio.run_experiment(["lora"], BUDGET, limit=2, settings=GEN, owner="alice")
    _cut_short(studio, first["experiment"], "training prompt", ["lora", "prompt"], {"lora": first["runs"]["lora"]})
    code, out, err = run_cli("experiment", "--resume", first["experiment"], "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "completed" and result["reused"] == ["lora"] and "prompt" in result["runs"]
    assert "training prompt (2 of 2)" in err
    code, out, err = run_cli("experiment", "--resume", "exp-20250101-000000-beef")
    assert code != 0 and "no experiment 'exp-20250101-000000-beef'" in err and "cut short: none" in err


def test_an_experiment_whose_trainings_all_failed_says_it_failed_and_why(studio, monkeypatch):
    # On a full disk every training failed and the experiment was still headed "Experiment finished".
    from studio.train import training
    from studio.ui.handlers import train_experiment as hx

    def no_room(base_path, method, *args, **kwargs):
        raise OSError(28, f"No space left on device ({method})")

    monkeypatch.setattr(training, "prepare_model", no_room)
    out = studio.run_experiment(["full", "lora"], BUDGET, limit=2, settings=GEN)
    assert out["status"] == "failed" and out["scores"] == {} and out["verdict"] is None
    assert set(out["failed"]) == {"full", "lora"}
    assert out["error"].startswith("no training finished: Full fine-tuning: ")
    assert "No space left on device (full)" in out["error"] and "No space left on device (lora)" in out["error"]
    view = hx.experiment_view(studio, studio.experiment(out["experiment"]))
    assert view.status.startswith("**Experiment failed:** no training finished") and "finished**" not in view.status
    assert "The disk is full" in view.status and r"No space left on device \(lora\)" in view.status  # escaped
    assert not view.has_result
    assert "- LoRA: **failed**: " in view.methods


# ---------------------------------------------------------------- the verdict, with seeds
def test_two_seeds_train_each_method_twice_and_the_verdict_uses_both(studio):
    from studio.ui.handlers import train_experiment as hx

    stages = []
    out = studio.run_experiment(["lora", "prompt"], TrainConfig(steps=2, seed=5, **TINY_TRAIN), limit=2,
                                settings=GEN, seeds=2, progress=stages.append)
    assert out["status"] == "completed" and out["seeds"] == [5, 6] and out["failed"] == {}
    assert list(out["runs"]) == ["lora@5", "prompt@5", "lora@6", "prompt@6"]   # one round of methods per seed
    for key, run_id in out["runs"].items():
        record = studio.run(run_id)
        assert record.hyperparameters["seed"] == int(key.split("@")[1])
        assert record.experiment["id"] == out["experiment"] and record.experiment["seeds"] == [5, 6]
    trained = [(s["method"], s["seed"]) for s in stages if s["stage"] == "training" and s["status"] == "completed"]
    assert trained == [("lora", 5), ("prompt", 5), ("lora", 6), ("prompt", 6)]
    verdict = out["verdict"]
    assert verdict["seeds"] == [5, 6] and set(verdict["methods"]) == {"original", "lora", "prompt"}
    assert len(verdict["methods"]["lora"]["rougeL"]["seed_means"]) == 2
    # 3 pairs x (ROUGE-1, ROUGE-2, ROUGE-L, BLEU)
    assert len(verdict["pairs"]) == 3 * 4 and all(len(p["per_seed"]) == 2 for p in verdict["pairs"])
    assert verdict["headline"].startswith("On ROUGE-L over 2 test dialogues and 2 seeds, ")
    assert "trained 2 times (seeds 5, 6)" in verdict["note"]
    for pair in verdict["pairs"]:   # the stand-in often scores 0: never an interval of "0.0 to 0.0"
        assert "0.0 to 0.0" not in pair["sentence"]
        if pair["winner"]:
            assert pair["low"] > 0 or pair["high"] < 0
            assert all(d > 0 for d in pair["per_seed"]) or all(d < 0 for d in pair["per_seed"])

    experiment = studio.experiment(out["experiment"])
    view = hx.experiment_view(studio, experiment)
    assert view.sentences.startswith(f"**{verdict['headline']}**")
    assert "**Each method across its seeds (ROUGE-L):**" in view.sentences and view.sentences.endswith("_")
    assert "seeds 5–6" in view.status
    assert [t.name for t in hx.experiment_rouge_view(experiment).data] == ["Original", "LoRA (2 seeds)",
                                                                             "Prompt tuning (2 seeds)"]
    with pytest.raises(ValueError, match="number of seeds"):
        studio.run_experiment(["lora"], BUDGET, seeds=9)


def test_whoever_sees_it_ended_also_sees_its_result(studio, monkeypatch):
    """A page polled between 'completed' and the result being kept showed 'finished' with nothing in it, and
    stopped polling. Every time the status says the experiment ended, the result is already there."""
    from studio.service.experiment import Experiment

    seen = []
    plain_setattr = Experiment.__setattr__

    def watching(self, name, value):
        if name == "status" and value in ("completed", "stopped", "failed"):
            seen.append((value, getattr(self, "result", None) is not None))
        plain_setattr(self, name, value)

    monkeypatch.setattr(Experiment, "__setattr__", watching)
    out = studio.run_experiment(["lora"], BUDGET, limit=2, settings=GEN)
    assert out["status"] == "completed" and seen == [("completed", True)]
