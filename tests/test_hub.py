"""Push and pull: what would be sent to the Hub, what comes back, and what is refused."""
import json
import os
import socket
from pathlib import Path

import pytest
import yaml
from safetensors.torch import save_file

from studio.generate.inference import GenerationSettings
from studio.model.hub import HubError, import_folder, prepare_upload, pull, push
from tests.fake_hub import FakeHub

FAKE_TOKEN = "hf_FAKEtoken1234567890abcdefXYZ"


@pytest.fixture(scope="module")
def evaluated(trained):
    studio, run_ids = trained
    studio.evaluate(["original", *run_ids.values()], limit=4)
    return studio, run_ids


def _front_matter(readme: str) -> dict:
    return yaml.safe_load(readme.split("---\n")[1])


@pytest.mark.parametrize("method", ["lora", "prompt", "full"])
def test_dry_run_writes_exactly_the_upload_folder_without_private_details(evaluated, tmp_path, method):
    studio, run_ids = evaluated
    run_id = run_ids[method]
    result = push(studio.store, run_id, "someone/flan-lora", dry_run=True, folder=tmp_path / "up",
                  client_factory=lambda token: pytest.fail("a dry run must not build a client"))
    folder = Path(result["folder"])
    files = sorted(p.name for p in folder.iterdir())
    assert result["files"] == files and result["dry_run"] is True
    weights = {"full": {"model.safetensors", "config.json"},
               "lora": {"adapter_model.safetensors", "adapter_config.json"},
               "prompt": {"adapter_model.safetensors", "adapter_config.json"}}[method]
    assert {"run.json", "events.jsonl", "README.md"} | weights <= set(files)
    assert not any(name.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt")) for name in files)

    record = studio.store.get(run_id)
    everything = "\n".join((folder / name).read_text(encoding="utf-8") for name in files
                           if not name.endswith(".safetensors"))
    host = socket.gethostname()
    for private in (record.base_model_path, str(Path.home()), str(studio.store.root), "/tmp/",
                    host if len(host) > 3 else "<no host check for a 3-letter host name>", '"pid"'):
        assert private not in everything, private
    public = json.loads((folder / "run.json").read_text())
    assert "owner" not in public and "base_model_path" not in public and "owner_hash" not in public
    assert public["method"] == method and public["metrics"] == record.as_dict()["metrics"]
    assert public["hyperparameters"] == record.hyperparameters
    steps = [e for e in map(json.loads, (folder / "events.jsonl").read_text().splitlines()) if e["type"] == "step"]
    assert steps == [e for e in studio.store.events(run_id) if e["type"] == "step"]
    if method != "full":  # the adapter names its base by its public name, not by this machine's folder
        adapter = json.loads((folder / "adapter_config.json").read_text())
        assert adapter["base_model_name_or_path"] == record.base_model


def test_model_card_metadata_and_body(evaluated, tmp_path):
    studio, run_ids = evaluated
    record = studio.store.get(run_ids["lora"])
    # A run on the real model and dataset: the card names both as Hub ids.
    studio.store.update(run_ids["lora"], data="knkarthick/dialogsum")
    try:
        folder = prepare_upload(studio.store, run_ids["lora"], "someone/flan-lora", tmp_path / "up")
    finally:
        studio.store.update(run_ids["lora"], data=record.data)
    readme = (folder / "README.md").read_text()
    meta = _front_matter(readme)
    assert meta["library_name"] == "peft" and meta["pipeline_tag"] == "summarization"
    assert meta["datasets"] == ["knkarthick/dialogsum"]
    assert "base_model" not in meta  # the stand-in is no Hub id; a FLAN-T5 run names google/flan-t5-small
    results = meta["model-index"][0]["results"][0]
    assert results["task"]["type"] == "summarization"
    assert results["dataset"] == {"name": "DialogSum", "type": "knkarthick/dialogsum", "split": "test"}
    values = {m["type"]: m["value"] for m in results["metrics"]}
    assert values["rouge1"] == pytest.approx(record.metrics.rouge1, abs=1e-5)
    assert values["rougeL"] == pytest.approx(record.metrics.rougeL, abs=1e-5)
    hyper = record.hyperparameters
    for text in ("LoRA", f"{record.steps} steps", f"batch size {hyper['batch_size']}",
                 f"training subset {hyper['train_size']}", f"seed {hyper['seed']}",
                 f"{record.trainable_params:,}", "AutoPeftModelForSeq2SeqLM.from_pretrained(\"someone/flan-lora\")",
                 "stand-in", f"on {record.device}"):
        assert text in readme, text


def test_full_model_card_says_transformers_and_names_a_hub_base(evaluated, tmp_path):
    studio, run_ids = evaluated
    run_id = run_ids["full"]
    original = studio.store.get(run_id)
    studio.store.update(run_id, base_model="google/flan-t5-small")
    try:
        folder = prepare_upload(studio.store, run_id, "someone/flan-full", tmp_path / "up")
    finally:
        studio.store.update(run_id, base_model=original.base_model)
    meta = _front_matter((folder / "README.md").read_text())
    assert meta["library_name"] == "transformers" and meta["base_model"] == "google/flan-t5-small"
    assert "datasets" not in meta  # the bundled sample is no Hub dataset


def test_push_sends_the_folder_to_a_model_repo_with_the_private_flag_and_never_leaks_the_token(
        evaluated, monkeypatch, capsys, caplog):
    studio, run_ids = evaluated
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    hub, tokens = FakeHub(), []

    def factory(token):
        tokens.append(token)
        return hub

    result = push(studio.store, run_ids["prompt"], "someone/flan-prompt", private=True, client_factory=factory)
    assert tokens == [FAKE_TOKEN]  # the token reached the client, and only the client
    assert hub.calls[0] == ("create_repo", "someone/flan-prompt", True, "model")
    assert hub.calls[1][:3] == ("upload_folder", "someone/flan-prompt", "model")
    assert set(hub.uploaded) == set(result["files"]) >= {"adapter_model.safetensors", "run.json", "README.md"}
    assert result["folder"] is None  # the temporary upload folder is gone
    for content in hub.uploaded.values():
        assert FAKE_TOKEN.encode() not in content
    out = capsys.readouterr()
    assert FAKE_TOKEN not in json.dumps(result) + out.out + out.err + caplog.text
    assert FAKE_TOKEN not in "".join(p.read_text(errors="ignore") for p in studio.store.root.rglob("*") if p.is_file())


def test_push_without_a_token_refuses_before_writing_anything(evaluated, monkeypatch, tmp_path):
    studio, run_ids = evaluated
    monkeypatch.setattr("studio.model.hub.hub_token", lambda: None)
    with pytest.raises(HubError, match="HF_TOKEN"):
        push(studio.store, run_ids["lora"], "someone/x", folder=tmp_path / "up")
    assert not (tmp_path / "up").exists()


@pytest.mark.parametrize("repo", ["no-owner", "a/b/c", "../x", "a/..", "", None, "own er/name"])
def test_push_refuses_a_bad_repo_id(evaluated, repo):
    studio, run_ids = evaluated
    with pytest.raises(HubError, match="OWNER/NAME"):
        push(studio.store, run_ids["lora"], repo, dry_run=True)


@pytest.mark.parametrize("method", ["lora", "prompt", "full"])
def test_round_trip_dry_run_then_pull_gives_a_loadable_run_with_the_same_summaries(evaluated, tmp_path, method):
    studio, run_ids = evaluated
    run_id = run_ids[method]
    folder = Path(push(studio.store, run_id, "someone/x", dry_run=True, folder=tmp_path / "up")["folder"])
    record = pull(str(folder), studio.store, studio.base)
    new_id = record.run_id
    assert new_id != run_id and record.status == "completed" and record.method == method
    assert studio.store.is_loadable(studio.store.get(new_id))
    original = studio.store.get(run_id)
    for key in ("hyperparameters", "metrics", "steps", "trainable_params", "final_loss"):
        assert getattr(record, key) == getattr(original, key), key
    assert record.pulled_from == "up" and record.original_run_id == run_id
    assert [e for e in studio.store.events(new_id) if e["type"] == "step"] == \
        [e for e in studio.store.events(run_id) if e["type"] == "step"]
    dialogues = [ex.dialogue for ex in studio.data.split("test")[:3]]
    out = studio.pool.summarize([run_id, new_id], dialogues, GenerationSettings(max_new_tokens=24))
    assert out[new_id].summaries == out[run_id].summaries
    studio.delete_run(new_id, owner=None)


def test_pull_from_the_hub_downloads_safetensors_only_and_imports(evaluated, tmp_path):
    studio, run_ids = evaluated
    served = prepare_upload(studio.store, run_ids["lora"], "someone/x", tmp_path / "served")
    (served / "adapter_model.bin").write_bytes(b"pickled")  # also there, but never fetched
    hub = FakeHub(served)
    record = pull("someone/x", studio.store, studio.base, client=hub)
    assert hub.calls[0] == ("list_files", "someone/x", "model")
    kind, repo, repo_type, patterns = hub.calls[1]
    assert (kind, repo, repo_type) == ("download", "someone/x", "model")
    assert "*.safetensors" in patterns and not {"*", "*.bin", "*.pt", "*.pth", "*.ckpt"} & set(patterns)
    assert record.pulled_from == "someone/x"
    assert not any(p.suffix == ".bin" for p in studio.store.model_dir(record.run_id).iterdir())
    studio.delete_run(record.run_id, owner=None)


def test_pull_refuses_pickled_only_weights_without_touching_the_store(evaluated, tmp_path):
    studio, run_ids = evaluated
    before = {r.run_id for r in studio.store.list()}
    folder = prepare_upload(studio.store, run_ids["lora"], "someone/x", tmp_path / "up")
    (folder / "adapter_model.safetensors").unlink()
    (folder / "adapter_model.bin").write_bytes(b"pickled")
    with pytest.raises(HubError, match="pickled"):
        pull(str(folder), studio.store, studio.base)
    hub = FakeHub(files=["adapter_config.json", "adapter_model.bin", "README.md"])
    with pytest.raises(HubError, match="pickled"):
        pull("someone/x", studio.store, studio.base, client=hub)
    assert [c[0] for c in hub.calls] == ["list_files"]  # refused before downloading anything
    assert {r.run_id for r in studio.store.list()} == before


def test_pull_refuses_an_adapter_for_another_base_model(evaluated, tmp_path):
    studio, run_ids = evaluated
    before = {r.run_id for r in studio.store.list()}
    folder = prepare_upload(studio.store, run_ids["lora"], "someone/x", tmp_path / "up")
    meta = json.loads((folder / "run.json").read_text())
    meta["base_model"] = "google/flan-t5-large"
    (folder / "run.json").write_text(json.dumps(meta))
    with pytest.raises(HubError, match="flan-t5-large.*does not fit"):
        pull(str(folder), studio.store, studio.base)
    assert {r.run_id for r in studio.store.list()} == before


def test_pull_imports_a_plain_peft_adapter_folder(evaluated, tmp_path):
    """An adapter saved anywhere with save_pretrained, no run.json: a LoRA run appears."""
    from peft import LoraConfig, TaskType, get_peft_model

    from studio.model.base_model import load_base

    studio, _ = evaluated
    model, _ = load_base(studio.base.path)
    peft_model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=4, target_modules=["q", "v"]))
    peft_model.save_pretrained(tmp_path / "my-adapter")
    record = import_folder(tmp_path / "my-adapter", studio.store, studio.base, origin="my-adapter")
    try:   # the trained studio is shared: the imported run must not outlive this test
        assert record.method == "lora" and record.status == "completed"
        assert studio.store.is_loadable(studio.store.get(record.run_id))
        summary = studio.pool.summarize([record.run_id], ["#Person1#: Hi.\n#Person2#: Hello."],
                                        GenerationSettings(max_new_tokens=8))
        assert len(summary[record.run_id].summaries) == 1
    finally:
        studio.delete_run(record.run_id, owner=None)
    # The same adapter, claiming another base model, is refused.
    config = json.loads((tmp_path / "my-adapter" / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "google/flan-t5-base"
    (tmp_path / "my-adapter" / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(HubError, match="flan-t5-base"):
        import_folder(tmp_path / "my-adapter", studio.store, studio.base, origin="my-adapter")


def test_pull_refuses_folders_that_are_no_model(studio, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(HubError, match="no safetensors"):
        pull(str(tmp_path / "empty"), studio.store, studio.base)
    odd = tmp_path / "odd"
    odd.mkdir()
    save_file({"w": __import__("torch").zeros(2)}, str(odd / "weights.safetensors"))
    with pytest.raises(HubError, match="neither adapter_config.json nor config.json"):
        pull(str(odd), studio.store, studio.base)
    assert studio.store.list() == []


# ------------------------------------------------------------------ what an import may bring in

@pytest.fixture
def adapter_folder(studio, tmp_path):
    """A plain PEFT LoRA adapter of the studio's base, with a pushed run's run.json and loss curve."""
    from peft import LoraConfig, TaskType, get_peft_model

    from studio.model.base_model import load_base

    model, _ = load_base(studio.base.path)
    folder = tmp_path / "adapter"
    get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=2, target_modules=["q", "v"])) \
        .save_pretrained(folder)
    (folder / "run.json").write_text(json.dumps({"method": "lora", "name": "shared", "status": "completed",
                                                 "created_at": "2026-12-01T00:00:00", "steps": 2}))
    (folder / "events.jsonl").write_text("".join(json.dumps({"type": "step", "step": s, "loss": 3.0 - s}) + "\n"
                                                 for s in (1, 2)))
    return folder


def _nothing_imported(studio) -> bool:
    return studio.store.list() == [] and not [p for p in studio.store.root.iterdir() if ".tmp-" in p.name]


def test_pull_refuses_links_out_of_the_folder_and_copies_only_model_files(studio, adapter_folder):
    """A bug this reproduces: notes.txt -> /etc/passwd and secret.txt -> <runs>/.owner-secret were copied in."""
    secret = studio.store.root / ".owner-secret"
    secret.write_text("server secret")
    for name, target in (("notes.txt", Path("/etc/passwd")), ("secret.txt", secret)):
        link = adapter_folder / name
        link.symlink_to(target)
        with pytest.raises(HubError, match=f"{name} is a link to something outside the folder"):
            pull(str(adapter_folder), studio.store, studio.base)
        assert _nothing_imported(studio)
        link.unlink()
    (adapter_folder / "notes.txt").write_text("my own notes")  # a plain file: not part of a run, left behind
    (adapter_folder / "same.json").symlink_to(adapter_folder / "adapter_config.json")  # inside: fine
    record = pull(str(adapter_folder), studio.store, studio.base)
    copied = sorted(p.name for p in studio.store.model_dir(record.run_id).iterdir())
    assert copied == ["adapter_config.json", "adapter_model.safetensors", "same.json"]
    assert not any(p.is_symlink() for p in studio.store.path(record.run_id).rglob("*"))


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_pull_refuses_weights_that_are_no_safetensors(studio, adapter_folder, damage):
    """A bug this reproduces (the import side): an adapter of random bytes was imported, then served."""
    weights = adapter_folder / "adapter_model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(os.urandom(len(data)) if damage == "random" else data[:-100])
    message = "not a safetensors file" if damage == "random" else "cut short"
    with pytest.raises(HubError, match=f"adapter_model.safetensors is .*{message}.*nothing was imported"):
        pull(str(adapter_folder), studio.store, studio.base)
    assert _nothing_imported(studio)


def test_pull_refuses_a_run_json_of_the_wrong_shape_and_says_what_is_wrong(studio, adapter_folder):
    """A bug this reproduces: `{"metrics": "x", "steps": "ten"}` was imported, then skipped as unreadable."""
    (adapter_folder / "run.json").write_text(json.dumps({"metrics": "x", "steps": "ten"}))
    with pytest.raises(HubError, match=r"run.json is not a run record .*metrics: .*\(and 1 more\)"):
        pull(str(adapter_folder), studio.store, studio.base)
    assert _nothing_imported(studio) and studio.store.problems == []
    (adapter_folder / "run.json").write_text(json.dumps({"name": ["not", "text"]}))
    with pytest.raises(HubError, match="run.json's name must be text"):
        pull(str(adapter_folder), studio.store, studio.base)


@pytest.mark.parametrize("name", ["run.json", "adapter_config.json"])
def test_pull_refuses_deeply_nested_json_with_a_message(studio, adapter_folder, name):
    """A bug this reproduces, for imports: hub.py caught ValueError only, so 100,000 `[` raised RecursionError."""
    (adapter_folder / name).write_text("[" * 100_000)
    with pytest.raises(HubError, match=f"{name} is not readable JSON \\(nested more than"):
        pull(str(adapter_folder), studio.store, studio.base)
    assert _nothing_imported(studio)


def test_a_huge_loss_curve_is_refused_before_it_is_parsed(studio, adapter_folder, monkeypatch):
    """A bug this reproduces: 400k `{}` lines were read whole, then written one open() per line."""
    (adapter_folder / "events.jsonl").write_text("{}\n" * 400_000)
    parsed = []
    monkeypatch.setattr("studio.model.hub.parse_event", lambda line: parsed.append(line))
    with pytest.raises(HubError, match="events.jsonl has more than 100,000 lines"):
        pull(str(adapter_folder), studio.store, studio.base)
    assert parsed == [] and _nothing_imported(studio)


def test_a_loss_curve_is_checked_line_by_line_and_written_once(studio, adapter_folder, monkeypatch):
    good = (adapter_folder / "events.jsonl").read_text()
    (adapter_folder / "events.jsonl").write_text(good + "{}\n")
    with pytest.raises(HubError, match=r"events.jsonl line 3 is not a loss-curve event \(type: "):
        pull(str(adapter_folder), studio.store, studio.base)
    (adapter_folder / "events.jsonl").write_text(good + '{"type": "step", "st')  # cut short: the curve ends
    monkeypatch.setattr(type(studio.store), "append_event",
                        lambda *a: pytest.fail("an import writes its curve in one go, not a line at a time"))
    record = pull(str(adapter_folder), studio.store, studio.base)
    assert [e["step"] for e in studio.store.events(record.run_id)] == [1, 2]
    assert record.status == "completed" and record.steps == 2 and record.name == "shared (pulled)"


def test_a_full_disk_during_an_import_is_one_clear_message_and_leaves_nothing(studio, adapter_folder, monkeypatch,
                                                                              tmp_path):
    """A bug this reproduces: the Runs tab's import said "Something went wrong (OSError)"; `pull`, a traceback."""
    import errno

    from studio.ui.handlers.runs import import_files

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("studio.model.hub._copy_plain_file", disk_full)
    with pytest.raises(HubError, match="could not be saved: the disk is full"):
        pull(str(adapter_folder), studio.store, studio.base)
    assert _nothing_imported(studio)
    uploads = [str(p) for p in adapter_folder.iterdir()]
    with pytest.raises(ValueError, match="disk is full"):
        import_files(studio, uploads, tmp_path / "scratch")
    monkeypatch.setattr("studio.ui.handlers.runs.shutil.copy2", disk_full)  # the upload's own copy
    with pytest.raises(ValueError, match="The uploaded files could not be imported: the disk is full"):
        import_files(studio, uploads, tmp_path / "scratch")
    assert _nothing_imported(studio)


def test_cli_pull_on_a_full_disk_is_one_error_line(run_cli, adapter_folder, monkeypatch):
    import errno

    monkeypatch.setattr("studio.model.hub._copy_plain_file",
                        lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    code, _, err = run_cli("pull", str(adapter_folder))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "disk is full" in err
