"""service/engine.py, demo-ready after a restart: runs preloaded from the (fake) Hub, the default three trained."""
from pathlib import Path

from studio.config.settings import Settings, TrainConfig
from studio.service.engine import Studio
from studio.ui.handlers.notices import preparation_text
from tests.fake_hub import FakeHub
from tests.studios import offline_settings

TINY = TrainConfig(steps=2, batch_size=4, train_size=8)


def test_settings_read_the_preload_list_and_the_prepare_switch():
    settings = Settings.from_env(env={"STUDIO_PRELOAD_RUNS": " me/a, ,me/b ", "STUDIO_PREPARE": "1"})
    assert settings.preload_runs == ("me/a", "me/b") and settings.prepare is True
    assert Settings.from_env(env={}).preload_runs == () and Settings.from_env(env={}).prepare is False


def test_nothing_configured_starts_nothing(studio):
    assert studio.prepare_in_background() is None
    assert studio.preparation_status() == {"running": False, "lines": []}
    assert preparation_text(studio.preparation_status()) == ""


def test_preload_then_prepare_fills_each_method_once_and_a_restart_repeats_nothing(trained, tmp_path, cache_dir):
    source, run_ids = trained
    served = Path(source.push_run(run_ids["lora"], "me/a", dry_run=True, folder=tmp_path / "a")["folder"])
    pickled = tmp_path / "b"
    pickled.mkdir()
    (pickled / "adapter_config.json").write_text("{}")
    (pickled / "adapter_model.bin").write_bytes(b"pickled")
    hubs = {"me/a": FakeHub(served), "me/b": FakeHub(pickled)}

    class Router:  # one client that serves each repo from its own fake
        def list_files(self, repo_id, *, repo_type):
            return hubs[repo_id].list_files(repo_id, repo_type=repo_type)

        def download(self, repo_id, local_dir, *, repo_type, allow_patterns):
            return hubs[repo_id].download(repo_id, local_dir, repo_type=repo_type, allow_patterns=allow_patterns)

    settings = offline_settings(tmp_path / "runs", cache_dir, env={"STUDIO_PRELOAD_RUNS": "me/a,me/b",
                                                                   "STUDIO_PREPARE": "1"})
    studio = Studio(settings)
    thread = studio.prepare_in_background(TINY, client_factory=lambda token: Router())
    assert thread is not None
    thread.join()
    status = studio.preparation_status()
    assert status["running"] is False
    lines = "\n".join(status["lines"])
    assert "me/a: imported as LoRA" in lines and "me/b: not imported" in lines and "pickled" in lines
    assert "Full fine-tuning: completed" in lines and "Prompt tuning: completed" in lines
    assert "LoRA: training" not in lines  # the pulled LoRA run counts
    runs = studio.runs()
    assert sorted(r.method for r in runs) == ["full", "lora", "prompt"]
    assert all(r.status == "completed" for r in runs)
    assert [r.pulled_from for r in runs if r.method == "lora"] == ["me/a"]
    assert preparation_text(status).startswith("✅")

    restarted = Studio(settings)  # the same disk after a restart: nothing pulled or trained twice
    router = Router()
    restarted.prepare_in_background(TINY, client_factory=lambda token: router).join()
    again = "\n".join(restarted.preparation_status()["lines"])
    assert "me/a: already here" in again and "training" not in again
    assert len(restarted.runs()) == 3
    assert [c[0] for c in hubs["me/b"].calls] == ["list_files", "list_files"]  # only me/b retried
