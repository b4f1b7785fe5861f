"""studio/ui/handlers/runs.py: the Hub section's push only with an operator token, only own runs."""
import json
from pathlib import Path

import pytest

from studio.config.settings import Settings
from studio.ui.handlers import runs as hr
from tests.conftest import TRAINED_OWNER
from tests.fake_hub import FakeHub

FAKE_TOKEN = "hf_FAKEuiToken1122334455abcdefLMN"


@pytest.fixture
def own_run(trained):
    """The trained studio, whose runs belong to the session token TRAINED_OWNER."""
    studio, run_ids = trained
    return studio, run_ids


def test_settings_know_whether_a_token_is_configured_but_never_keep_it():
    with_token = Settings.from_env(env={"HF_TOKEN": FAKE_TOKEN})
    assert with_token.hub_token_configured is True
    assert FAKE_TOKEN not in repr(with_token)
    assert Settings.from_env(env={}).hub_token_configured is False
    assert Settings.from_env(env={"HF_TOKEN": "  "}).hub_token_configured is False


def test_push_needs_an_operator_token_and_the_runs_owner(own_run, monkeypatch):
    studio, run_ids = own_run
    hub = FakeHub()
    monkeypatch.setattr(studio.settings, "hub_token_configured", False)
    with pytest.raises(PermissionError, match="HF_TOKEN"):
        hr.push_run(studio, run_ids["lora"], "me/x", True, TRAINED_OWNER, client_factory=lambda t: hub)
    monkeypatch.setattr(studio.settings, "hub_token_configured", True)
    monkeypatch.setattr("studio.model.hub.hub_token", lambda: FAKE_TOKEN)
    with pytest.raises(PermissionError, match="trained this run"):
        hr.push_run(studio, run_ids["lora"], "me/x", True, "someone else", client_factory=lambda t: hub)
    assert hub.calls == []
    with pytest.raises(ValueError, match="OWNER/NAME"):
        hr.push_run(studio, run_ids["lora"], "not a repo", True, TRAINED_OWNER, client_factory=lambda t: hub)
    message = hr.push_run(studio, run_ids["lora"], "me/x", True, TRAINED_OWNER, client_factory=lambda t: hub)
    assert hub.calls[0] == ("create_repo", "me/x", True, "model")
    assert "private" in message and "me/x" in message and FAKE_TOKEN not in message
    assert "adapter_model.safetensors" in hub.uploaded


def test_import_from_the_hub_and_from_uploaded_files(own_run, tmp_path):
    studio, run_ids = own_run
    served = Path(studio.push_run(run_ids["prompt"], "me/y", dry_run=True, folder=tmp_path / "served")["folder"])
    before = {r.run_id for r in studio.runs()}
    with pytest.raises(ValueError, match="OWNER/NAME"):
        hr.import_from_hub(studio, str(served))  # a folder on the server is never read from the page
    message = hr.import_from_hub(studio, "me/y", client_factory=lambda token: FakeHub(served))
    added = [r for r in studio.runs() if r.run_id not in before]
    assert len(added) == 1 and added[0].method == "prompt" and added[0].pulled_from == "me/y"
    assert "Imported" in message

    uploads = [str(p) for p in served.iterdir()]
    message = hr.import_files(studio, uploads, tmp_path / "scratch")
    added = [r for r in studio.runs() if r.run_id not in before]
    assert len(added) == 2 and "uploaded files" in message
    assert list((tmp_path / "scratch").iterdir()) == []  # the copies are gone
    with pytest.raises(ValueError, match="Choose the files"):
        hr.import_files(studio, [], tmp_path / "scratch")
    for record in added:
        studio.delete_run(record.run_id, owner=None)


def test_an_import_belongs_to_the_session_that_made_it(own_run, tmp_path):
    """The importer may rename and delete what it imported (it could not before: imports belonged to nobody,
    so a mistaken or forged upload stayed until the operator removed it); others may not. The CLI's stay unowned."""
    studio, run_ids = own_run
    served = Path(studio.push_run(run_ids["lora"], "me/z", dry_run=True, folder=tmp_path / "served")["folder"])
    before = {r.run_id for r in studio.runs()}
    hr.import_files(studio, [str(p) for p in served.iterdir()], tmp_path / "scratch", owner="importer")
    hr.import_from_hub(studio, "me/z", client_factory=lambda token: FakeHub(served), owner="importer")
    added = [r for r in studio.runs() if r.run_id not in before]
    assert len(added) == 2 and all(studio.owns(r, "importer") and not studio.owns(r, "someone else") for r in added)
    with pytest.raises(PermissionError, match="Only the session"):
        hr.delete_run(studio, added[0].run_id, "someone else", confirmed=True)
    assert "Renamed" in hr.rename_run(studio, added[0].run_id, "my import", "importer")
    for record in added:
        assert "Deleted" in hr.delete_run(studio, record.run_id, "importer", confirmed=True)
    by_cli = studio.pull_run(str(served))
    assert by_cli.owner_hash == "" and not studio.owns(by_cli, "importer")
    studio.delete_run(by_cli.run_id, owner=None)


@pytest.mark.parametrize("configured", [False, True])
def test_the_push_button_shows_only_with_a_token_and_the_page_never_holds_it(own_run, monkeypatch, configured):
    from studio.ui.app import build_app

    studio, _ = own_run
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setattr(studio.settings, "hub_token_configured", configured)
    page = json.dumps(build_app(studio).get_config_file(), default=str)
    assert ("hub-push" in page) is configured
    assert "hub-pull" in page and "hub-import-files" in page
    assert FAKE_TOKEN not in page
