"""`python -m studio push` / `pull`, in-process with a fake Hub client: what would be sent, and what is refused."""
import json
from pathlib import Path

import pytest
import yaml

from studio.cli import hub as hub_commands
from tests.fake_hub import FakeHub

FAKE_TOKEN = "hf_FAKEcliToken0987654321abcdefQRS"


@pytest.fixture
def env(run_cli, monkeypatch):
    """run_cli's environment (no token: a test sets one), with the Hub token read as the CLI would read it."""
    monkeypatch.setattr("studio.model.hub.hub_token", lambda: __import__("os").environ.get("HF_TOKEN"))
    return monkeypatch


def all_text(folder: Path) -> str:
    return "".join(p.read_text(errors="ignore") for p in Path(folder).rglob("*") if p.is_file())


def test_push_dry_run_prints_the_folder_and_its_files_and_sends_nothing(trained, env, run_cli, tmp_path):
    studio, run_ids = trained
    env.setenv("HF_TOKEN", FAKE_TOKEN)
    env.setattr(hub_commands, "HUB_CLIENT_FACTORY", lambda token: pytest.fail("a dry run must not build a client"))
    code, out, err = run_cli("push", run_ids["lora"], "--repo", "someone/flan-lora", "--dry-run",
                             "--out", str(tmp_path / "up"), "--runs-dir", str(studio.store.root), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["dry_run"] is True and result["private"] is False and result["repo"] == "someone/flan-lora"
    assert Path(result["folder"]) == tmp_path / "up"
    assert result["files"] == sorted(p.name for p in (tmp_path / "up").iterdir())
    assert {"adapter_config.json", "adapter_model.safetensors", "run.json", "events.jsonl",
            "README.md"} <= set(result["files"])
    assert FAKE_TOKEN not in out + err + all_text(tmp_path / "up")


def test_push_sends_the_run_as_a_private_model_repo_with_its_card(trained, env, run_cli, tmp_path):
    studio, run_ids = trained
    env.setenv("HF_TOKEN", FAKE_TOKEN)
    hub, tokens = FakeHub(), []

    def factory(token):
        tokens.append(token)
        return hub

    env.setattr(hub_commands, "HUB_CLIENT_FACTORY", factory)
    code, out, err = run_cli("push", run_ids["prompt"], "--repo", "someone/flan-prompt", "--private",
                             "--runs-dir", str(studio.store.root), "--json")
    assert code == 0, err
    assert tokens == [FAKE_TOKEN]  # handed to the client, and nowhere else
    assert hub.calls[0] == ("create_repo", "someone/flan-prompt", True, "model")
    assert hub.calls[1][:3] == ("upload_folder", "someone/flan-prompt", "model")
    assert {"adapter_config.json", "adapter_model.safetensors", "run.json", "events.jsonl",
            "README.md"} <= set(hub.uploaded)
    meta = yaml.safe_load(hub.uploaded["README.md"].decode().split("---\n")[1])
    assert meta["library_name"] == "peft" and meta["pipeline_tag"] == "summarization"
    assert json.loads(hub.uploaded["run.json"])["method"] == "prompt"
    result = json.loads(out)
    assert result["private"] is True and result["url"].endswith("/commit/abc") and result["folder"] is None
    sent = b"".join(hub.uploaded.values()).decode(errors="ignore")
    assert FAKE_TOKEN not in out + err + sent + all_text(studio.store.root)


def test_push_without_a_token_exits_2_with_advice(trained, env, run_cli):
    studio, run_ids = trained
    env.setattr(hub_commands, "HUB_CLIENT_FACTORY", lambda token: pytest.fail("no client without a token"))
    code, out, err = run_cli("push", run_ids["lora"], "--repo", "someone/x",
                             "--runs-dir", str(studio.store.root), "--json")
    assert code == 2 and out == "" and "HF_TOKEN" in err and "--dry-run" in err


def test_pull_imports_from_the_hub_into_the_store(trained, env, run_cli, tmp_path):
    studio, run_ids = trained
    served = Path(studio.push_run(run_ids["lora"], "someone/x", dry_run=True, folder=tmp_path / "served")["folder"])
    hub = FakeHub(served)
    env.setattr(hub_commands, "HUB_CLIENT_FACTORY", lambda token: hub)
    runs = tmp_path / "runs"
    code, out, err = run_cli("pull", "someone/x", "--runs-dir", str(runs), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "completed" and result["method"] == "lora" and result["pulled_from"] == "someone/x"
    assert [c[0] for c in hub.calls] == ["list_files", "download"]
    record = json.loads((runs / result["run_id"] / "run.json").read_text())
    assert record["hyperparameters"] == studio.run(run_ids["lora"]).hyperparameters
    assert (runs / result["run_id"] / "model" / "adapter_model.safetensors").is_file()


def test_pull_refuses_pickles_and_other_base_models_with_exit_2(trained, env, run_cli, tmp_path):
    studio, run_ids = trained
    runs = tmp_path / "runs"
    pickled = Path(studio.push_run(run_ids["lora"], "someone/x", dry_run=True, folder=tmp_path / "p")["folder"])
    (pickled / "adapter_model.safetensors").unlink()
    (pickled / "adapter_model.bin").write_bytes(b"pickled")
    code, out, err = run_cli("pull", str(pickled), "--runs-dir", str(runs), "--json")
    assert code == 2 and out == "" and "pickled" in err and "safetensors" in err

    other = Path(studio.push_run(run_ids["lora"], "someone/x", dry_run=True, folder=tmp_path / "o")["folder"])
    meta = json.loads((other / "run.json").read_text())
    meta["base_model"] = "google/flan-t5-large"
    (other / "run.json").write_text(json.dumps(meta))
    code, out, err = run_cli("pull", str(other), "--runs-dir", str(runs), "--json")
    assert code == 2 and out == "" and "flan-t5-large" in err and "does not fit" in err
    assert not runs.exists() or not [p for p in runs.iterdir() if (p / "run.json").exists()]
