"""service/saved_runs.py: the runs folder handled as the operator, from the disk alone (no Studio built)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.config.settings import Settings
from studio.service.saved_runs import delete_saved_run, push_saved_run, rename_saved_run, saved_runs
from studio.store.runs import RunNotFound


@pytest.fixture
def folder(trained, tmp_path):
    """A runs folder of its own holding a copy of the trained LoRA run, and the settings that name it."""
    studio, run_ids = trained
    run_id = run_ids["lora"]
    shutil.copytree(studio.store.root / run_id, tmp_path / "runs" / run_id)
    return Settings(runs_dir=tmp_path / "runs", offline=True), run_id


def test_list_rename_and_delete_act_on_the_folder(folder):
    settings, run_id = folder
    records, skipped = saved_runs(settings)
    assert [r.run_id for r in records] == [run_id] and skipped == []
    assert rename_saved_run(settings, run_id, "the demo run").name == "the demo run"
    assert delete_saved_run(settings, run_id).name == "the demo run"   # the record it had
    assert saved_runs(settings) == ([], [])
    with pytest.raises(RunNotFound):
        delete_saved_run(settings, run_id)


def test_listing_and_renaming_load_neither_torch_nor_a_model(folder):
    """The point of these functions: the CLI's runs / rename / delete stay quick and cannot fail on a model."""
    settings, run_id = folder
    code = ("import sys; from pathlib import Path; from studio.config.settings import Settings; "
            "from studio.service.saved_runs import rename_saved_run, saved_runs; "
            "s = Settings(runs_dir=Path(sys.argv[1]), offline=True); "
            "print(len(saved_runs(s)[0]), rename_saved_run(s, sys.argv[2], 'renamed').name, "
            "'torch' in sys.modules, 'studio.service.engine' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(settings.runs_dir), run_id], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "renamed", "False", "False"]


def test_a_dry_run_push_writes_the_folder_and_sends_nothing(folder, tmp_path):
    settings, run_id = folder
    result = push_saved_run(settings, run_id, "someone/flan-lora", dry_run=True, folder=tmp_path / "out",
                            client_factory=lambda token: pytest.fail("a dry run builds no client"))
    assert result["repo"] == "someone/flan-lora" and result["dry_run"] is True
    assert "adapter_config.json" in result["files"] and (tmp_path / "out" / "adapter_config.json").is_file()
