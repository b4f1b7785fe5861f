"""studio/train/trackers.py: a run reported through the Trainer's own integrations, declared once as `report_to`.

TensorBoard is an optional extra (`pip install '.[tensorboard]'`); scripts/dev-env.sh installs it,
so the event-file test runs in CI. The other trackers are not installed here: their plans are checked
as data, and their missing packages are what the refusal tests meet.
"""
from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from studio import cli
from studio.config.declare import check, flag_values, parse
from studio.config.settings import TRACKERS, TrainConfig
from studio.config.train_command import train_args, train_command
from studio.train.trackers import TrackerMissing, reporting, require_tracker, tracker_plan, without_secrets
from studio.ui.handlers.train import (
    TrainForm,
    command_text,
    form_of_job,
    start_training,
    tracker_choices,
    train_request,
)
from studio.ui.handlers.train_experiment import ExperimentForm, experiment_request, start_experiment
from tests.conftest import TINY_TRAIN


def _tensorboard_losses(folder: Path) -> list[tuple[int, float]]:
    """(step, loss) as TensorBoard itself reads them back from the event files."""
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="TensorBoard is not installed (pip install '.[tensorboard]'); CI installs it")
    events = accumulator.EventAccumulator(str(folder))
    events.Reload()
    return [(point.step, point.value) for point in events.Scalars("train/loss")]


def test_a_run_reported_to_tensorboard_leaves_its_loss_curve_in_its_own_folder(studio, tmp_path):
    pytest.importorskip("tensorboard", reason="TensorBoard is not installed (pip install '.[tensorboard]')")
    job = studio.submit_training("lora", TrainConfig(steps=6, report_to="tensorboard", **TINY_TRAIN), owner="me")
    studio.wait_job(job.job_id, timeout=600)
    assert job.status == "completed", job.error
    folder = studio.run_dir(job.run_id)
    record = json.loads((folder / "run.json").read_text())
    assert record["reported_to"] == {"tracker": "tensorboard", "where": str(folder / "tensorboard")}
    assert record["hyperparameters"]["report_to"] == "tensorboard"
    assert form_of_job(studio.job(job.job_id)).report_to == "tensorboard"   # a reloaded page shows it again
    assert any(p.name.startswith("events.out.tfevents") for p in (folder / "tensorboard").iterdir())

    steps = [e for e in studio.run_events(job.run_id) if e["type"] == "step"]
    read_back = _tensorboard_losses(folder / "tensorboard")
    assert [step for step, _ in read_back] == [e["step"] for e in steps] == [1, 2, 3, 4, 5, 6]
    assert [loss for _, loss in read_back] == pytest.approx([e["loss"] for e in steps], rel=1e-6)  # float32
    assert "TENSORBOARD_LOGGING_DIR" not in os.environ   # set for that training only

    # Shared copies leave the tracker's files (and where they are) at home: events.jsonl holds the curve.
    with zipfile.ZipFile(studio.zip_run(job.run_id, tmp_path)) as archive:
        names = archive.namelist()
        shared = json.loads(archive.read("run.json"))
    assert "events.jsonl" in names and not any("tensorboard" in name for name in names)
    assert "reported_to" not in shared and shared["hyperparameters"]["report_to"] == "tensorboard"
    pushed = studio.push_run(job.run_id, "me/tracked", dry_run=True, folder=tmp_path / "push")
    assert not any("tfevents" in name or "tensorboard" in name for name in pushed["files"])


def test_a_run_reported_to_nothing_writes_no_tracker_files_and_no_record_of_one(studio):
    job = studio.submit_training("prompt", TrainConfig(steps=2, **TINY_TRAIN), owner="me")
    studio.wait_job(job.job_id, timeout=600)
    assert job.status == "completed", job.error
    folder = studio.run_dir(job.run_id)
    assert "reported_to" not in studio.run(job.run_id).as_dict() and not (folder / "tensorboard").exists()
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "events.jsonl", "model", "run.json"]


def test_the_setting_is_declared_once_with_its_choices():
    assert TrainConfig().report_to == "none" and TRACKERS[0] == "none"
    assert check(TrainConfig, "report_to", "mlflow") == "mlflow"
    assert parse(TrainConfig, "report_to", "", blank="none") == "none"
    with pytest.raises(ValueError, match="The tracker must be one of none, tensorboard, trackio, mlflow, wandb, "
                                         "not 'neptune'"):
        TrainConfig(report_to="neptune").validate()
    with pytest.raises(ValueError, match="The tracker must be text"):
        check(TrainConfig, "report_to", 3)


def test_the_form_the_command_and_the_cli_agree_on_it():
    cfg, _ = train_request(TrainForm(method="lora", report_to="trackio"))
    assert cfg.report_to == "trackio"
    assert train_request(TrainForm(method="lora", report_to=""))[0].report_to == "none"   # blank: the default
    with pytest.raises(ValueError, match="The tracker must be one of"):
        train_request(TrainForm(method="lora", report_to="printer"))
    assert experiment_request(ExperimentForm(report_to="wandb"))[1].report_to == "wandb"

    assert "--report-to tensorboard" in command_text(TrainForm(method="lora", report_to="tensorboard"))
    shown = train_command("lora", TrainConfig(steps=30, report_to="mlflow"))
    assert "--report-to mlflow" in shown and "--report-to" not in train_command("lora", TrainConfig(steps=30))
    args = cli.build_parser().parse_args(train_args("full", TrainConfig(report_to="wandb")))
    assert args.command == "train" and flag_values(args, TrainConfig) == {"report_to": "wandb"}
    experiment = cli.build_parser().parse_args(["experiment", "--report-to", "tensorboard"])
    assert flag_values(experiment, TrainConfig) == {"report_to": "tensorboard"}


def test_the_dropdown_offers_every_tracker_and_says_which_need_installing(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)   # what find_spec reports for a package that is not there
    choices = dict((value, label) for label, value in tracker_choices())
    assert list(choices) == list(TRACKERS)
    assert choices["wandb"] == "Weights & Biases (needs pip install 'tuning-studio[wandb]')"


@pytest.mark.parametrize("tracker, package", [("mlflow", "mlflow"), ("tensorboard", "tensorboard"),
                                              ("trackio", "trackio"), ("wandb", "wandb")])
def test_a_missing_package_is_refused_with_the_pip_line(monkeypatch, tracker, package):
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(TrackerMissing, match=rf"needs the {package} package, which is not installed here: "
                                             rf"pip install 'tuning-studio\[{tracker}\]'"):
        require_tracker(tracker)
    require_tracker("none")


def test_a_missing_tracker_queues_nothing_from_the_studio_or_an_experiment(studio, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(TrackerMissing, match=r"tuning-studio\[mlflow\]"):
        studio.submit_training("lora", TrainConfig(steps=2, report_to="mlflow", **TINY_TRAIN), owner="me")
    with pytest.raises(TrackerMissing, match=r"tuning-studio\[mlflow\]"):
        studio.start_experiment(["lora", "prompt"], TrainConfig(steps=2, report_to="mlflow", **TINY_TRAIN),
                                owner="me")
    with pytest.raises(TrackerMissing, match=r"tuning-studio\[mlflow\]"):   # the Train tab's Start
        start_training(studio, "me", TrainForm(method="lora", report_to="mlflow", steps=2, **TINY_TRAIN))
    with pytest.raises(TrackerMissing, match=r"tuning-studio\[mlflow\]"):   # "Train all three"
        start_experiment(studio, "me", ExperimentForm(methods=["lora"], steps=2, report_to="mlflow", **TINY_TRAIN))
    assert studio.jobs_of("me") == [] and studio.runs() == [] and studio.experiments_of("me") == []


def test_cli_train_reports_to_tensorboard(run_cli, tmp_path):
    pytest.importorskip("tensorboard", reason="TensorBoard is not installed (pip install '.[tensorboard]')")
    code, out, err = run_cli("train", "--method", "full", "--steps", "3", "--batch-size", "4", "--train-size", "16",
                             "--report-to", "tensorboard", "--json")
    assert code == 0, err
    result = json.loads(out)
    folder = Path(result["run_dir"])
    assert result["reported_to"] == json.loads((folder / "run.json").read_text())["reported_to"] == {
        "tracker": "tensorboard", "where": str(folder / "tensorboard")}
    losses = [json.loads(line)["loss"] for line in (folder / "events.jsonl").read_text().splitlines()
              if json.loads(line)["type"] == "step"]
    assert [loss for _, loss in _tensorboard_losses(folder / "tensorboard")] == pytest.approx(losses, rel=1e-6)


def test_cli_refuses_a_missing_or_unknown_tracker_before_training(run_cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    for command in (["train", "--method", "lora"], ["experiment", "--methods", "lora"]):
        code, out, err = run_cli(*command, "--steps", "2", "--report-to", "mlflow", "--json")
        assert (code, out) == (2, "")
        assert err.strip().startswith("error: Reporting to MLflow needs the mlflow package") and \
            "pip install 'tuning-studio[mlflow]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    code, _, err = run_cli("train", "--method", "lora", "--report-to", "neptune")
    assert code == 2 and "invalid choice: 'neptune'" in err


def test_each_tracker_stays_offline_and_local_unless_the_operator_says_otherwise(tmp_path):
    run, root = tmp_path / "runs" / "lora-1", tmp_path / "runs"
    assert tracker_plan("none", run, root).env == {} and tracker_plan("none", run, root).record is None
    tensorboard = tracker_plan("tensorboard", run, root, env={"TENSORBOARD_LOGGING_DIR": "/elsewhere"})
    assert tensorboard.env == {"TENSORBOARD_LOGGING_DIR": str(run / "tensorboard")}   # always the run's folder

    mlflow = tracker_plan("mlflow", run, root, env={})
    assert mlflow.env == {"MLFLOW_TRACKING_URI": f"sqlite:///{root}/.mlflow/mlflow.db",
                          "MLFLOW_EXPERIMENT_NAME": "tuning-studio", "MLFLOW_DISABLE_TELEMETRY": "true"}
    assert mlflow.record["where"] == mlflow.env["MLFLOW_TRACKING_URI"] and mlflow.folders == (root / ".mlflow",)
    server = tracker_plan("mlflow", run, root, env={"MLFLOW_TRACKING_URI": "https://me:secret@ml.example/x?t=1"})
    assert server.env == {"MLFLOW_EXPERIMENT_NAME": "tuning-studio"} and server.folders == ()
    assert server.record["where"] == "https://ml.example/x"   # the record keeps no credentials

    wandb = tracker_plan("wandb", run, root, env={})
    assert wandb.env == {"WANDB_MODE": "offline", "WANDB_DIR": str(run), "WANDB_PROJECT": "tuning-studio"}
    assert wandb.record == {"tracker": "wandb", "where": str(run / "wandb"), "mode": "offline",
                            "project": "tuning-studio"}
    online = tracker_plan("wandb", run, root, env={"WANDB_MODE": "online", "WANDB_PROJECT": "team"})
    assert "WANDB_MODE" not in online.env and online.record["mode"] == "online" and online.record["project"] == "team"

    trackio = tracker_plan("trackio", run, root, env={"TRACKIO_DIR": "/srv/trackio"})
    assert trackio.env == {} and trackio.record == {"tracker": "trackio", "where": "/srv/trackio",
                                                    "project": "tuning-studio"}
    assert without_secrets("sqlite:////abs/mlflow.db") == "sqlite:////abs/mlflow.db"


def test_reporting_sets_the_variables_for_one_training_and_puts_them_back(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_PROJECT", "theirs")
    for name in [n for n in os.environ if n.startswith(("WANDB_", "MLFLOW_")) and n != "WANDB_PROJECT"]:
        monkeypatch.delenv(name, raising=False)
    plan = tracker_plan("wandb", tmp_path / "run", tmp_path)
    with reporting(plan):
        assert os.environ["WANDB_MODE"] == "offline" and os.environ["WANDB_PROJECT"] == "theirs"
    assert "WANDB_MODE" not in os.environ and os.environ["WANDB_PROJECT"] == "theirs"
    monkeypatch.setenv("MLFLOW_NESTED_RUN", "true")
    with pytest.raises(RuntimeError), reporting(tracker_plan("mlflow", tmp_path / "run", tmp_path, env={})):
        assert (tmp_path / ".mlflow").is_dir()
        os.environ["MLFLOW_EXPERIMENT_ID"] = "1"   # as mlflow.set_experiment leaves it
        raise RuntimeError("a training that fails")
    assert {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")} == {"MLFLOW_NESTED_RUN": "true"}
