"""studio/ui/handlers/runs.py: the Runs tab's table, rename, delete and download."""
import zipfile

import pytest

from studio.store.runs import RunNotFound
from studio.ui.handlers import runs as hr
from studio.ui.handlers import train as ht
from tests.studios import a_record

TINY = {"steps": 3, "batch_size": 4, "train_size": 16}


def test_runs_table_formatting():
    table = hr.runs_table([a_record("lora-1", name="my lora", steps=60, train_seconds=65.2, trainable_params=688128,
                                    trainable_share=0.00886, size_bytes=2_831_155, final_loss=1.23456,
                                    metrics={"rougeL": 0.3123}),
                           a_record("full-1", "failed", "full")])
    assert list(table.columns) == hr.RUN_COLUMNS
    first = table.iloc[0].to_dict()
    assert first == {"Name": "my lora", "Method": "LoRA", "Status": "completed", "Steps": 60,
                     "Time": "65 s", "Trainable params": "688,128 (0.89%)", "Size on disk": "2.7 MB",
                     "Final loss": "1.235", "ROUGE-L": "31.2", "Experiment": "", "Run id": "lora-1"}
    assert table.iloc[1]["Name"] == "full-1" and table.iloc[1]["ROUGE-L"] == "–"  # formatting.MISSING, as in charts


def test_rename_and_delete_only_for_the_owner(studio):
    job = ht.start_training(studio, "alice", ht.TrainForm(method="prompt", **TINY))
    studio.jobs.wait(job.job_id, timeout=600)
    run_id = job.run_id
    with pytest.raises(PermissionError):
        hr.rename_run(studio, run_id, "mine now", "bob")
    with pytest.raises(ValueError):
        hr.rename_run(studio, run_id, "   ", "alice")
    with pytest.raises(ValueError):
        hr.rename_run(studio, None, "x", "alice")
    assert "short prompt" in hr.rename_run(studio, run_id, "  short   prompt ", "alice")
    assert studio.store.get(run_id).name == "short prompt"
    with pytest.raises(ValueError, match="sure"):
        hr.delete_run(studio, run_id, "alice", confirmed=False)
    with pytest.raises(PermissionError):
        hr.delete_run(studio, run_id, "bob", confirmed=True)
    assert studio.store.get(run_id)  # still there
    assert "Deleted" in hr.delete_run(studio, run_id, "alice", confirmed=True)
    assert studio.store.list() == []


def test_zip_holds_the_model_and_its_record(trained, tmp_path):
    path = hr.zip_run(trained.studio, trained.runs["lora"], tmp_path)
    names = zipfile.ZipFile(path).namelist()
    assert "run.json" in names and "model/adapter_config.json" in names
    assert any(n.startswith("model/") and n.endswith(".safetensors") for n in names)
    with pytest.raises(ValueError):
        hr.zip_run(trained.studio, None, tmp_path)
    with pytest.raises(RunNotFound):
        hr.zip_run(trained.studio, "../../etc", tmp_path)


def test_the_runs_table_notes_an_experiment_a_restart_cut_short(studio, settings):
    """The Runs tab once showed a cut-short experiment's runs with no note."""
    from studio.config.settings import TrainConfig
    from studio.generate.inference import GenerationSettings
    from studio.service.engine import Studio
    from studio.store.experiment_records import ExperimentRecords
    from tests.conftest import TINY_TRAIN

    out = studio.run_experiment(["lora"], TrainConfig(steps=1, **TINY_TRAIN), limit=1,
                                settings=GenerationSettings(max_new_tokens=4), owner="alice")
    records = ExperimentRecords(settings.runs_dir)
    record = records.get(out["experiment"])
    record.update(methods=["lora", "prompt"], status="training", stage="training prompt", result=None,
                  process={"host": "a-host-long-gone", "pid": 1, "started": 0.0})
    records.save(record)

    restarted = Studio(settings)
    table = hr.runs_table(restarted.runs(), notes=hr.experiment_notes(restarted))
    cell = table.loc[table["Run id"] == out["runs"]["lora"], "Experiment"].item()
    assert cell.startswith(out["experiment"]) and "cut short while training Prompt tuning" in cell
    assert "its owner can finish it" in cell
    assert hr.experiment_notes(studio) == {}          # the process that ran it saw it complete
