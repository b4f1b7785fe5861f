"""studio/store/sharing.py: a run's zip holds the model, record and curve, and none of the server's details."""
import json
import socket
import zipfile
from pathlib import Path

from studio.store.records import typed_record
from studio.store.sharing import public_model_name, scrub, shareable_zip, shared_record


def test_a_hub_id_stays_and_a_local_folder_becomes_its_name():
    assert public_model_name("google/flan-t5-small") == "google/flan-t5-small"
    assert public_model_name("/srv/models/flan-t5-small") == "./flan-t5-small"
    assert public_model_name("~/models/mine") == "./mine"


def test_the_shared_record_drops_the_server_keys():
    record = typed_record({"run_id": "lora-1", "method": "lora", "status": "completed", "created_at": "2026-12-07",
                           "base_model": "/srv/models/base", "base_model_path": "/srv/x", "owner_hash": "abc",
                           "process": {"host": "h", "pid": 1, "started": 0.0}, "traceback": "File /srv"})
    assert shared_record(record) == {"run_id": "lora-1", "method": "lora", "status": "completed",
                                     "created_at": "2026-12-07", "base_model": "./base"}


def test_scrub_replaces_known_paths_also_inside_json_strings_and_optionally_every_other():
    pairs = [("/srv/runs", "runs"), ("/home/ann", "~")]
    assert scrub("saved in /srv/runs/lora-1", pairs) == "saved in runs/lora-1"
    windows_escaped = json.dumps({"p": "C:\\srv\\x"})
    assert scrub(windows_escaped, [("C:\\srv", "runs")]) == json.dumps({"p": "runs\\x"})
    assert scrub("tmp at /tmp/abc/def and /home/ann/x", pairs, other_paths="<path>") == \
        "tmp at <path> and ~/x"


def test_the_zip_holds_the_model_record_and_curve_without_host_or_local_paths(tmp_path, monkeypatch):
    # A host name long enough to be replaced (a 2-letter one like "vm" would match inside words, so it stays).
    monkeypatch.setattr(socket, "gethostname", lambda: "workshop-host-7")
    run = tmp_path / "runs" / "lora-1"
    (run / "model" / ".cache").mkdir(parents=True)
    base = str(tmp_path / "models" / "flan-base")
    (run / "events.jsonl").write_text('{"type": "step", "step": 1, "loss": 2.0}\n')
    (run / "model" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base}))
    (run / "model" / "adapter_model.safetensors").write_bytes(b"\x00weights")
    (run / "model" / ".cache" / "lock").write_text("x")
    (run / "run.json.lock").write_text("")
    record = typed_record({"run_id": "lora-1", "method": "lora", "status": "completed", "created_at": "2026-12-07",
                           "base_model": base, "base_model_path": base,
                           "process": {"host": "workshop-host-7", "pid": 1, "started": 0.0},
                           "note": f"trained on workshop-host-7 in {run}"})
    with zipfile.ZipFile(shareable_zip(run, record, tmp_path)) as archive:
        names = set(archive.namelist())
        texts = {name: archive.read(name).decode("utf-8", "replace") for name in names}
    assert names == {"run.json", "events.jsonl", "model/adapter_config.json", "model/adapter_model.safetensors"}
    assert texts["model/adapter_model.safetensors"] == "\x00weights"
    assert json.loads(texts["model/adapter_config.json"]) == {"base_model_name_or_path": "./flan-base"}
    shared = json.loads(texts["run.json"])
    assert "process" not in shared and shared["base_model"] == "./flan-base"
    assert shared["note"] == "trained on <host> in runs/lora-1"
    assert not any(str(tmp_path) in text or str(Path.home()) + "/" in text for text in texts.values())
