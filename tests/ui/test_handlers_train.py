"""studio/ui/handlers/train.py: the Train tab's requests, queue messages and stop button."""
from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

from studio.config.settings import PRESETS, Settings, TrainConfig
from studio.model.methods import registry
from studio.service.jobs import Job, JobStatus
from studio.ui.handlers import runs as hr
from studio.ui.handlers import train as ht
from tests.conftest import TRAINED_OWNER, TRAINED_STEPS
from tests.studios import a_record, offline_settings
from tests.waiting import wait_until

TINY = {"steps": 3, "batch_size": 4, "train_size": 16}


def test_presets_fill_the_fields(studio):
    assert ht.preset_values(studio, "quick") == PRESETS["quick"]   # the stand-in is smaller than FLAN-T5-small
    assert ht.preset_values(studio, "standard")["steps"] == PRESETS["standard"]["steps"]
    with pytest.raises(ValueError):
        ht.preset_values(studio, "turbo")


def test_learning_rate_hint_names_the_method_default():
    assert "0.3" in ht.learning_rate_hint("prompt")
    assert "0.001" in ht.learning_rate_hint("lora")


def test_train_request_builds_engine_config():
    cfg, overrides = ht.train_request(ht.TrainForm(method="lora", steps=12.0, batch_size=4, train_size=16,
                                                   learning_rate="", lora_r=8, lora_target_modules=["q", "k", "v"]))
    assert isinstance(cfg, TrainConfig)
    assert (cfg.steps, cfg.batch_size, cfg.train_size, cfg.learning_rate) == (12, 4, 16, None)
    assert overrides["lora_r"] == 8 and overrides["lora_target_modules"] == ("q", "k", "v")
    cfg, overrides = ht.train_request(ht.TrainForm(method="prompt", learning_rate="0.1", prompt_num_virtual_tokens=8,
                                                   prompt_init="random"))
    assert cfg.learning_rate == 0.1
    assert overrides == {"prompt_num_virtual_tokens": 8, "prompt_init": "random"}


@pytest.mark.parametrize("change", [{"steps": None}, {"steps": 2.5}, {"batch_size": 0}, {"seed": -1},
                                    {"learning_rate": "quick"}, {"lora_target_modules": []}, {"method": "qlora"},
                                    {"lora_dropout": 1.5}])
def test_bad_input_changes_nothing(studio, change):
    form = ht.TrainForm(**{**dict(method="lora", **TINY), **change})
    with pytest.raises(ValueError):
        ht.start_training(studio, "alice", form)
    assert studio.jobs.jobs_of("alice") == [] and studio.store.list() == []


def test_training_needs_a_session_token(studio):
    with pytest.raises(ValueError, match="started nothing yet"):
        ht.start_training(studio, "", ht.TrainForm(**TINY))


def fake_job(status, events=(), error=None, record=None, method="lora", position=2, turns=0, resume_step=None,
             started_ago=20.0):
    """A job as the Studio hands it to the UI (a JobStatus), `position` in line."""
    job = Job("job1", "lora-x", "alice", SimpleNamespace(method=method), status=status, events=list(events),
              error=error, record=record, turns=turns, resume={"step": resume_step} if resume_step else None)
    job.started_at = time.time() - started_ago
    return JobStatus(job, lambda job_id: position)


def fake_studio(running=None):
    """Just the facade method the Train tab's status line asks of a Studio."""
    return SimpleNamespace(running_job=lambda: running)


def test_job_view_queued_says_the_place_in_the_queue():
    view = ht.job_view(fake_studio(running=fake_job("running", method="full")), fake_job("queued", position=2))
    assert "You are #2 in the queue" in view.status
    assert "Full fine-tuning training is running" in view.status
    assert not view.ended


def test_job_view_running_shows_progress_time_left_and_parameters():
    events = [{"type": "params", "trainable_params": 688128, "total_params": 77649280,
               "trainable_share": 688128 / 77649280},
              {"type": "status", "status": "training", "message": "Training"},
              {"type": "step", "step": 3, "max_steps": 10, "loss": 2.5, "elapsed": 6.0, "samples_per_second": 4}]
    view = ht.job_view(fake_studio(), fake_job("running", events))
    assert "LoRA is training" in view.status
    assert "Step 3 of 10 (30%)" in view.progress and "about 14 s left" in view.progress
    assert "688,128 of 77,649,280 (0.89%)" in view.params
    assert view.steps_seen == 1 and not view.ended


def test_job_view_of_a_paused_and_resumed_run_counts_training_not_waiting():
    paused = fake_job("paused", [{"type": "step", "step": 9, "max_steps": 600, "loss": 7.7, "elapsed": 2.5}],
                      position=1, turns=1, resume_step=9)
    view = ht.job_view(fake_studio(), paused)
    assert "LoRA paused at step 9" in view.status and "#1 in line" in view.status and not view.ended
    # first started 2 min ago, most of it waiting
    resumed = fake_job("running", [{"type": "step", "step": 12, "max_steps": 600, "loss": 7.6, "elapsed": 3.5}],
                       turns=2, started_ago=120)
    status = ht.job_view(fake_studio(), resumed).status
    assert "LoRA is training** again, turn 2 (3.5 s of training so far)" in status


def test_job_view_final_messages():
    done = ht.job_view(fake_studio(), fake_job("completed", record=a_record(steps=30, train_seconds=125.0)))
    assert done.ended and "Finished" in done.status and "2 min 05 s" in done.status
    failed = ht.job_view(fake_studio(), fake_job("failed", error="Out of memory: try a smaller batch size."))
    assert failed.ended and "Failed" in failed.status and "smaller batch size" in failed.status
    stopped = ht.job_view(fake_studio(), fake_job("stopped", [{"type": "step", "step": 4, "max_steps": 9,
                                                               "loss": 1.0, "elapsed": 1.0}]))
    assert "Stopped" in stopped.status and "step 4" in stopped.status
    assert ht.job_view(fake_studio(), None).ended


def test_real_training_reports_finished_with_a_loss_curve(trained):
    studio = trained.studio
    job = max(studio.jobs.jobs_of(TRAINED_OWNER), key=lambda j: j.submitted_at)
    view = ht.job_view(studio, job)
    assert view.ended and view.status.startswith("**Finished:**")
    assert "Trainable parameters" in view.params
    figure = ht.loss_view(studio, job)
    names = [trace.name for trace in figure.data if not trace.name.endswith(": validation")]
    assert names[0].endswith("(this run)") and len(names) == len(registry.NAMES)  # every other method overlaid
    validation = [trace for trace in figure.data if trace.name == f"{names[0]}: validation"]  # this run's only
    assert len(validation) == 1 and list(validation[0].x) == [TRAINED_STEPS]  # the Trainer checks at the end too
    assert len(figure.data[0].x) == TRAINED_STEPS


def test_only_the_owner_can_stop_and_a_stopped_run_is_kept(studio):
    job = ht.start_training(studio, "alice", ht.TrainForm(method="lora", steps=400, batch_size=4, train_size=16))
    assert ht.active_job_id(studio, "alice") == job.job_id and ht.active_job_id(studio, "bob") is None
    with pytest.raises(PermissionError):
        ht.stop_training(studio, job.job_id, "bob")
    with pytest.raises(ValueError):
        ht.stop_training(studio, None, "alice")
    wait_until(lambda: job.latest("step") is not None)
    assert "Stopping" in ht.stop_training(studio, job.job_id, "alice")
    studio.jobs.wait(job.job_id, timeout=600)
    assert job.status == "stopped" and job.record.steps < 400
    assert "Stopped" in ht.job_view(studio, job).status
    with pytest.raises(ValueError, match="already ended"):
        ht.stop_training(studio, job.job_id, "alice")


def test_the_form_of_a_job_is_restored(studio):
    form = ht.TrainForm(method="lora", steps=7, batch_size=2, train_size=12, learning_rate="0.002", seed=5,
                        name="mine", lora_r=4, lora_alpha=8, lora_dropout=0.1, lora_target_modules=["q", "k"])
    job = ht.start_training(studio, "alice", form)
    studio.wait_job(job.job_id, timeout=300)
    restored = ht.form_of_job(studio.job(job.job_id))
    assert restored.method == "lora" and (restored.steps, restored.batch_size, restored.train_size) == (7, 2, 12)
    assert restored.learning_rate == "0.002" and restored.seed == 5 and restored.name == "mine"
    assert (restored.lora_r, restored.lora_alpha, restored.lora_dropout) == (4, 8, 0.1)
    assert restored.lora_target_modules == ["q", "k"]
    prompt = ht.start_training(studio, "alice", ht.TrainForm(method="prompt", steps=2, batch_size=2, train_size=8,
                                                             prompt_num_virtual_tokens=7, prompt_init="random"))
    studio.wait_job(prompt.job_id, timeout=300)
    again = ht.form_of_job(prompt)
    assert (again.method, again.prompt_num_virtual_tokens, again.prompt_init, again.name) == ("prompt", 7, "random", "")


def test_the_budget_says_what_will_happen_and_the_run_records_it(studio):
    available = sum(len(ex.references) for ex in studio.data.split("train"))
    text = ht.budget_text(studio, 60, 8, 400)
    assert f"all **{available:,}**" in text and "subset of 400" in text
    assert f"{60 * 8 / available:.1f} passes" in text
    assert "0.25** of one pass" in ht.budget_text(studio, 1, 4, 16)
    assert "must be" in ht.budget_text(studio, 0, 8, 400)                   # a bad value: a message, no crash
    job = ht.start_training(studio, "alice", ht.TrainForm(method="lora", steps=2, batch_size=4, train_size=1000))
    studio.wait_job(job.job_id, timeout=300)
    record = json.loads((studio.run_dir(job.run_id) / "run.json").read_text())
    assert record["budget"]["pairs_available"] == available
    assert record["budget"]["pairs_used"] == available
    assert record["budget"]["epochs"] == round(2 * 4 / available, 3)


def test_method_help_states_the_share_the_loaded_model_trains(two_people):
    studio, runs = two_people
    record = studio.run(runs["alice"])
    help_text = ht.method_help(studio, "lora")
    assert "under 1%" not in help_text
    assert f"{record.trainable_params:,}** of {record.total_params:,}" in help_text
    assert f"({100 * record.trainable_share:.2f}%)" in help_text
    assert "stand-in" in help_text


def test_method_help_speaks_of_the_default_model_when_it_cannot_count(two_people, monkeypatch):
    studio, _ = two_people
    monkeypatch.setattr(studio, "method_shares", dict)
    text = ht.method_help(studio, "lora")
    assert "FLAN-T5-small (the default model" in text and "688,128** of 77,649,280" in text and "0.89%" in text


def test_presenter_mode_from_the_url_or_the_setting_refuses_training(studio, settings):
    assert ht.presenter_mode(studio, {"presenter": "1"}) and not ht.presenter_mode(studio, {})
    assert not ht.presenter_mode(studio, {"presenter": "0"})
    with pytest.raises(PermissionError, match="Presenter mode"):
        ht.start_training(studio, "alice", ht.TrainForm(**TINY), presenter=True)
    assert Settings.from_env(env={"STUDIO_PRESENTER": "1"}).presenter
    studio.settings.presenter = True
    assert ht.presenter_mode(studio, None)
    with pytest.raises(PermissionError):
        ht.start_training(studio, "alice", ht.TrainForm(**TINY))


def test_presenter_mode_refuses_what_it_hides_to_scripts_too(studio, tmp_path):
    """The page hides training, renaming, deleting, pushing and importing; a script calling the
    API directly meets the same refusal, and nothing changes."""
    from studio.ui.handlers import runs, train_experiment

    job = ht.start_training(studio, "alice", ht.TrainForm(method="lora", **TINY))
    studio.jobs.wait(job.job_id, timeout=600)
    before = studio.run(job.run_id)
    studio.settings.presenter = True
    refused = {
        "training": lambda: ht.start_training(studio, "alice", ht.TrainForm(**TINY)),
        "an experiment": lambda: train_experiment.start_experiment(studio, "alice",
                                                                   train_experiment.ExperimentForm(**TINY)),
        "renaming": lambda: hr.rename_run(studio, job.run_id, "new name", "alice"),
        "deleting": lambda: hr.delete_run(studio, job.run_id, "alice", True),
        "pushing": lambda: runs.push_run(studio, job.run_id, "alice/run", False, "alice"),
        "importing from the Hub": lambda: runs.import_from_hub(studio, "alice/run"),
        "importing files": lambda: runs.import_files(studio, [str(tmp_path / "adapter_config.json")], tmp_path),
    }
    for action, call in refused.items():
        with pytest.raises(PermissionError, match="Presenter mode"):
            call()
        assert studio.run(job.run_id) == before, action
    assert [r.run_id for r in studio.runs()] == [job.run_id] and len(studio.jobs_of("alice")) == 1


def test_the_loss_plot_overlays_own_earlier_runs_smooths_and_goes_log(two_people):
    studio, runs = two_people
    # Without the overlay: the newest run of each method, bob's LoRA, marked for bob only.
    assert any(t.name.endswith("· yours") for t in ht.loss_view(studio, None, "bob").data)
    assert not any("yours" in t.name for t in ht.loss_view(studio, None, "alice").data)
    studio_runs_alice = [t for t in ht.loss_view(studio, None, "alice", own_runs=True).data if "yours" in t.name]
    assert len(studio_runs_alice) == 1 and studio_runs_alice[0].name == f"LoRA: {time_and_tag(runs['alice'])} · yours"
    smooth = ht.loss_view(studio, None, "alice", own_runs=True, smoothing="3", log_scale=True)
    assert any(t.opacity == 0.25 for t in smooth.data)         # raw points faint behind the average
    assert smooth.layout.yaxis.type == "log"
    assert ht.smoothing_window("abc") == 1 and ht.smoothing_window(0) == 1 and ht.smoothing_window(1e9) == 50


def time_and_tag(run_id: str) -> str:
    """An unnamed run's short name in a chart: "lora-20261207-214847-e7d6" -> "214847-e7d6"."""
    return run_id.split("-", 2)[2]


def test_the_loss_legend_names_runs_whole_and_apart():
    """An experiment's runs read "exp <time-tag>" (not a name cut mid-word: "Full fine", "Prompt tunin"), a
    long name ends in an ellipsis, and two runs whose short names agree get their ids."""
    experiment = {"id": "exp-20261207-213754-71eb"}
    records = [a_record("full-20261207-213801-aaaa", method="full", name="20261207-213754-71eb Full fine-tuning",
                        experiment=experiment),
               a_record("prompt-20261207-213802-bbbb", method="prompt", name="20261207-213754-71eb Prompt tuning",
                        experiment=experiment),
               a_record("lora-20261207-213803-cccc", name="a LoRA run with a name far longer than a legend line"),
               a_record("lora-20261207-213804-dddd", name="twin"), a_record("lora-20261207-213805-eeee", name="twin")]
    studio = SimpleNamespace(
        runs=lambda: records, owns=lambda record, owner: record.name == "twin",
        loadable_runs=lambda method: [r for r in records if r.method == method],
        run_events=lambda run_id: [{"type": "step", "step": 1, "loss": 2.0}, {"type": "step", "step": 2, "loss": 1.5}])
    names = [t.name for t in ht.loss_view(studio, None, "me", own_runs=True).data]
    assert names == ["LoRA: twin · yours", "LoRA: twin (lora-20261207-213805-eeee) · yours",
                     "Full fine-tuning: exp 213754-71eb", "LoRA: a LoRA run with a name far long…",
                     "Prompt tuning: exp 213754-71eb"]
    assert all(len(n.split(": ", 1)[1].split(" · ")[0]) <= ht.LEGEND_NAME_CHARS for n in names if "(" not in n)


def test_the_form_says_how_long_a_run_takes_here_and_refuses_one_over_the_rooms_ceiling(tmp_path, cache_dir):
    """Estimated before Start from the step time measured on this machine, so no run holds the room."""
    import dataclasses

    from studio.service.engine import Studio

    settings = offline_settings(tmp_path / "runs", cache_dir, env={"STUDIO_MAX_RUN_SECONDS": "30"})
    studio = Studio(settings)
    first = ht.start_training(studio, "alice", ht.TrainForm(method="lora", **TINY))   # measures this machine
    studio.wait_job(first.job_id, timeout=300)
    assert first.status == "completed", first.error
    short = ht.budget_text(studio, 2, 4, 16, method="lora")
    assert "**Time here:** about" in short and "measured on this machine over 1 earlier run" in short
    assert "this room allows 30 s per run." in short
    long_text = ht.budget_text(studio, 5000, 4, 16)                           # every method's estimate
    assert "this room allows 30 s per run, so Start will refuse it: ask for at most" in long_text
    with pytest.raises(ValueError, match=r"would take about \d+(\.\d)? (min|h) here .* this room allows 30 s per run"):
        ht.start_training(studio, "bob", ht.TrainForm(method="lora", steps=5000, batch_size=4, train_size=16))
    assert studio.jobs_of("bob") == [] and len(studio.runs()) == 1          # nothing queued, nothing written
    # Without a ceiling the same line gives the time alone.
    studio.settings = dataclasses.replace(settings, max_run_seconds=0)
    assert "allows" not in ht.budget_text(studio, 5000, 4, 16, method="lora")
