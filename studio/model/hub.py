"""Share runs on the Hugging Face Hub: push a run as a model repo, pull one back into the run store.

    result = push(store, run_id, "me/flan-t5-lora-dialogsum", dry_run=True)   # {"folder": ..., "files": [...]}
    result = push(store, run_id, "me/flan-t5-lora-dialogsum", private=True)   # token from HF_TOKEN / login
    record = pull("me/flan-t5-lora-dialogsum", store, base)                   # a new run in the store

What a pushed repo holds, at its root so that plain PEFT / transformers load it:
the adapter (adapter_config.json + adapter_model.safetensors) or the full model
(config.json, model.safetensors, tokenizer files), run.json and events.jsonl with
private details left out (host, pid, session hash, local paths, tracebacks), and a
README.md model card (huggingface_hub.ModelCard) with base_model, library_name,
datasets, pipeline_tag and the run's ROUGE as model-index results.

What an import (a local folder, uploaded files or a downloaded repo) may bring in:
the folder's own plain files only (a link leading out of it is refused), and of
those only what a run consists of (weights, configs, tokenizer files). Every JSON
file is bounded in size and depth, run.json must read back as a run record,
events.jsonl is checked line by line against the store's event schema (capped
in bytes and lines), and every .safetensors is checked on its copy (header and
data size). The run is then put in place in one step (RunStore.add_complete):
a crash or a full disk leaves the whole run or none of it.

A model card names the method by its registry entry (label, Hub tag, and whether the
run is a PEFT adapter or a whole model), and a plain PEFT adapter folder imports as the
method whose adapter type it holds: that is why this module sits in the model layer,
beside the method registry, rather than with the run store it writes into.

Everything that reaches the network goes through a HubClient; tests pass a fake
one that records what would have been sent. The token is read when a client is
built (HF_TOKEN or the login cache) and handed to that client only: it is never
written to a file or a log, and never returned.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from studio.config.settings import hub_offline
from studio.model.methods import registry
from studio.store.records import BadRecord, RunRecord, load_json, parse_event
from studio.store.runs import (
    MAX_RECORD_BYTES,
    PICKLE_SUFFIXES,
    RunStore,
    clean_name,
    has_safe_weights,
    new_run_id,
    now_iso,
    read_text_bounded,
    safetensors_problem,
)
from studio.store.sharing import public_model_name, replacements, scrub_value

REPO_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
RUN_FILES = ("run.json", "events.jsonl", "README.md")
# Files of a pushed repo that are not part of the model folder.
NOT_MODEL_FILES = set(RUN_FILES) | {".gitattributes"}
# What run.json keeps when it leaves the machine: an allow-list, so a field added later stays home
# until someone decides it is fit to publish.
PUBLIC_RUN_FIELDS = (
    "run_id", "method", "name", "base_model", "base_is_standin", "data", "hyperparameters", "device", "status",
    "created_at", "finished_at", "trainable_params", "total_params", "trainable_share", "steps", "epochs",
    "train_examples", "train_seconds", "train_loop_seconds", "samples_per_second", "final_loss",
    "final_loss_avg5", "size_bytes", "metrics",
)
# The files a run's model folder consists of, and so all an import copies: weights, configs and
# tokenizer files. Anything else in the folder (notes, scripts, a link to /etc/passwd) stays out.
MODEL_FILE_SUFFIXES = (".safetensors", ".json", ".model")
TOKENIZER_TEXT_FILES = ("vocab.txt", "merges.txt")
DOWNLOAD_PATTERNS = ["*.safetensors", "*.json", "*.model", "events.jsonl", *TOKENIZER_TEXT_FILES]
# A loss curve has a line per logged step (at most a few thousand) and a few status lines.
MAX_IMPORT_EVENT_LINES = 100_000
MAX_IMPORT_EVENTS_BYTES = 16 * 2**20
LOCAL_PATH = "<local path>"


class HubError(ValueError):
    """A push or pull that cannot go ahead, with a message a user can act on."""


# --------------------------------------------------------------------------- the network, behind one interface

class HubClient(Protocol):
    def create_repo(self, repo_id: str, *, private: bool, repo_type: str) -> str: ...
    def upload_folder(self, repo_id: str, folder: Path, *, repo_type: str, commit_message: str) -> str: ...
    def list_files(self, repo_id: str, *, repo_type: str) -> list[str]: ...
    def download(self, repo_id: str, local_dir: Path, *, repo_type: str, allow_patterns: list[str]) -> Path: ...


class HfHubClient:
    """The real client: huggingface_hub's HfApi with the token it was given."""

    def __init__(self, token: str | None):
        from huggingface_hub import HfApi

        self._api = HfApi(token=token)

    def __repr__(self) -> str:  # never show the token, even in a debugger or a traceback
        return "HfHubClient()"

    def create_repo(self, repo_id, *, private, repo_type):
        return str(self._api.create_repo(repo_id, private=private, repo_type=repo_type, exist_ok=True))

    def upload_folder(self, repo_id, folder, *, repo_type, commit_message):
        info = self._api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type=repo_type,
                                       commit_message=commit_message)
        return str(getattr(info, "commit_url", info))

    def list_files(self, repo_id, *, repo_type):
        return list(self._api.list_repo_files(repo_id, repo_type=repo_type))

    def download(self, repo_id, local_dir, *, repo_type, allow_patterns):
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, repo_type=repo_type, local_dir=str(local_dir),
                                      allow_patterns=allow_patterns, token=self._api.token))


def hub_token() -> str | None:
    """HF_TOKEN, else the token `hf auth login` cached (huggingface_hub's own rule)."""
    from huggingface_hub import get_token

    return get_token()


def default_client_factory(token: str | None) -> HubClient:
    return HfHubClient(token)


# --------------------------------------------------------------------------- what leaves the machine

def check_repo_id(repo_id) -> str:
    if not isinstance(repo_id, str) or not REPO_ID_PATTERN.match(repo_id) or ".." in repo_id:
        raise HubError(f"{str(repo_id)[:100]!r} is not a Hub repository id: use OWNER/NAME "
                       "(letters, digits, '-', '_', '.').")
    return repo_id


def is_hub_id(value) -> bool:
    """True for 'owner/name' that is not a path on this machine."""
    return (isinstance(value, str) and bool(REPO_ID_PATTERN.match(value)) and ".." not in value
            and not Path(value).expanduser().exists())


def public_record(record: RunRecord) -> dict:
    """run.json as published, before scrubbing: the allow-listed fields; the data source only if it is public."""
    written = record.as_dict()
    public = {k: written[k] for k in PUBLIC_RUN_FIELDS if k in written}
    data = public.get("data")
    if data is not None and not (is_hub_id(data) or data == "bundled"):
        public["data"] = "local file"
    public["base_model"] = public_model_name(record.base_model or "")
    public["exported_by"] = "tuning-studio"
    return public


def _publish_json_file(path: Path, published) -> None:
    try:
        payload = load_json(path.read_text(encoding="utf-8"))
    except (BadRecord, UnicodeDecodeError):
        return
    path.write_text(json.dumps(published(payload), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def prepare_upload(store: RunStore, run_id: str, repo_id: str, folder: Path | None = None) -> Path:
    """Write exactly the folder a push would upload, and return it.

    Only finished runs with safetensors weights qualify; a folder that already exists must be empty.
    """
    check_repo_id(repo_id)
    record = store.require_loadable(run_id)
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix=f"studio-push-{run_id}-"))
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise HubError(f"{folder} is not empty; choose a new folder for the upload.")
    pairs = replacements(record, store.path(run_id))  # the one scrubbing rule, shared with the zip export

    def published(value):
        # On decoded JSON, not raw text: a path pattern must never cut through a tokenizer's escapes.
        return scrub_value(value, pairs, other_paths=LOCAL_PATH)

    for source in sorted(store.model_dir(run_id).iterdir()):
        if (source.is_symlink() or not source.is_file() or source.name.lower().endswith(PICKLE_SUFFIXES)
                or source.name in NOT_MODEL_FILES):
            continue  # a link planted in model/ could lead anywhere on this machine: never published
        shutil.copy2(source, folder / source.name)
        if source.suffix == ".json":
            _publish_json_file(folder / source.name, published)
    public = published(public_record(record))
    (folder / "run.json").write_text(json.dumps(public, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with open(folder / "events.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(published(event)) + "\n" for event in store.events(run_id))
    (folder / "README.md").write_text(model_card(public, repo_id).content, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- the model card

def card_metadata(public: dict, repo_id: str):
    from huggingface_hub import EvalResult, ModelCardData

    method = registry.get(public["method"])
    data = public.get("data")
    base = public.get("base_model")
    tags = ["tuning-studio", "summarization", "dialogsum", method.hub_tag]
    eval_results = None
    metrics = public.get("metrics") or {}
    dataset_type = data if is_hub_id(data) else "dialogsum-sample"
    results = [EvalResult(task_type="summarization", task_name="Summarization", dataset_type=dataset_type,
                          dataset_name="DialogSum" if is_hub_id(data) else "DialogSum (bundled sample)",
                          dataset_split=metrics.get("split"), metric_type=name,
                          metric_name=name.replace("rouge", "ROUGE-"),
                          metric_value=round(float(metrics[name]), 5))
               for name in ("rouge1", "rouge2", "rougeL", "rougeLsum") if metrics.get(name) is not None]
    if results:
        eval_results = results
    return ModelCardData(
        base_model=base if is_hub_id(base) else None,
        library_name="transformers" if method.whole_model else "peft",
        datasets=[data] if is_hub_id(data) else None,
        pipeline_tag="summarization", tags=tags, metrics=["rouge"] if results else None,
        model_name=repo_id.split("/", 1)[1], eval_results=eval_results,
    )


def _load_snippet(public: dict, repo_id: str) -> str:
    base = public.get("base_model") or "google/flan-t5-small"
    if registry.get(public["method"]).whole_model:
        lines = ["from transformers import AutoModelForSeq2SeqLM, AutoTokenizer",
                 f'model = AutoModelForSeq2SeqLM.from_pretrained("{repo_id}")',
                 f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")']
    else:
        lines = ["from peft import AutoPeftModelForSeq2SeqLM; from transformers import AutoTokenizer",
                 f'model = AutoPeftModelForSeq2SeqLM.from_pretrained("{repo_id}")',
                 f'tokenizer = AutoTokenizer.from_pretrained("{base}")']
    return "\n".join(lines)


def _fmt(value, spec: str = ",") -> str:
    return "unknown" if value is None else format(value, spec)


def model_card(public: dict, repo_id: str):
    """README.md for the repo: metadata for the Hub, and a body a person can act on."""
    from huggingface_hub import ModelCard

    method = public["method"]
    label = registry.label(method)
    hyper = public.get("hyperparameters") or {}
    metrics = public.get("metrics") or {}
    base = public.get("base_model", "unknown")
    standin = (" This run used the tiny stand-in model the studio builds offline, not FLAN-T5: it shows the "
               "mechanics, not real quality.") if public.get("base_is_standin") else ""
    data = public.get("data")
    data_line = (f"[{data}](https://huggingface.co/datasets/{data})" if is_hub_id(data)
                 else "the studio's bundled sample dialogues" if data == "bundled" else "a local file")
    subset = hyper.get("train_size")
    rouge = ", ".join(f"{name} {metrics[name]:.4f}" for name in ("rouge1", "rouge2", "rougeL") if name in metrics)
    rouge_line = (f"ROUGE F1 on {metrics.get('examples', '?')} dialogues of the {metrics.get('split', '?')} split: "
                  f"{rouge}." if rouge else "Not evaluated yet.")
    train_seconds = public.get("train_seconds")
    body = f"""
# {repo_id.split('/', 1)[1]}

{label} of `{base}` for dialogue summarization on {data_line}, trained with
Tuning Studio.{standin}

## Training
- Method: {label} ({method})
- Budget: {_fmt(public.get('steps') or hyper.get('steps'))} steps, batch size {_fmt(hyper.get('batch_size'))}, \
training subset {_fmt(subset) if subset else 'the whole split'} pairs, seed {_fmt(hyper.get('seed'), '')}
- Learning rate: {_fmt(hyper.get('learning_rate'), 'g')}
- Trainable parameters: {_fmt(public.get('trainable_params'))} of {_fmt(public.get('total_params'))} \
({100 * (public.get('trainable_share') or 0):.2f}%)
- Training time: {_fmt(train_seconds, '.1f')} s on {public.get('device', 'unknown')} \
({hyper.get('precision', 'fp32')})
- Final training loss: {_fmt(public.get('final_loss'), '.4f')}

## Evaluation
{rouge_line}

## Use it
```python
{_load_snippet(public, repo_id)}
```
Prompt it as it was trained: `Summarize the following conversation.\\n\\n{{dialogue}}\\n\\nSummary: `.
`run.json` and `events.jsonl` hold the full public and the loss curve;
`python -m studio pull {repo_id}` brings the run into another studio.
"""
    return ModelCard(f"---\n{card_metadata(public, repo_id).to_yaml()}\n---\n{body}")


# --------------------------------------------------------------------------- push

def push(store: RunStore, run_id: str, repo_id: str, private: bool = False, dry_run: bool = False,
         folder: Path | None = None, client: HubClient | None = None,
         client_factory: Callable[[str | None], HubClient] = default_client_factory) -> dict:
    """Upload a run (or, with dry_run, only write the folder that would be uploaded).

    Returns {"run_id", "repo", "private", "dry_run", "folder", "files"} and, after an upload, "url".
    """
    check_repo_id(repo_id)
    if not isinstance(private, bool):
        raise HubError("private must be true or false.")
    store.require_loadable(run_id)
    if not dry_run and client is None:
        token = hub_token()
        if not token:
            raise HubError("No Hugging Face token: set HF_TOKEN or run `hf auth login` first "
                           "(or use --dry-run to see what would be uploaded).")
        client = client_factory(token)
        del token
    keep = dry_run or folder is not None
    folder = prepare_upload(store, run_id, repo_id, folder)
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    result = {"run_id": run_id, "repo": repo_id, "private": private, "dry_run": dry_run,
              "folder": str(folder), "files": files}
    if dry_run:
        return result
    try:
        result["repo_url"] = client.create_repo(repo_id, private=private, repo_type="model")
        result["url"] = client.upload_folder(repo_id, folder, repo_type="model",
                                             commit_message=f"Upload {record_label(store, run_id)} from Tuning Studio")
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
            result["folder"] = None
    return result


def record_label(store: RunStore, run_id: str) -> str:
    return f"{registry.label(store.get(run_id).method)} run {run_id}"


# --------------------------------------------------------------------------- pull

def pull(source: str, store: RunStore, base, client: HubClient | None = None,
         client_factory: Callable[[str | None], HubClient] = default_client_factory, owner_hash: str = "") -> RunRecord:
    """Import a pushed run, or a plain PEFT adapter folder, as a new completed run; returns its record.

    `source` is a local folder or a Hub repo id; `base` is the studio's BaseModelChoice: adapters
    for another base model are refused, as are folders whose weights are pickled only. `owner_hash`:
    the importing session's, so it may rename or delete its import ("": the operator's, nobody's).
    """
    if not isinstance(source, str) or not source.strip():
        raise HubError("Name a Hub repository (OWNER/NAME) or a local folder to pull from.")
    local = Path(source).expanduser()
    if _is_folder(local):
        return import_folder(local, store, base, origin=str(local.name), owner_hash=owner_hash)
    check_repo_id(source)
    if client is None:
        client = client_factory(hub_token())  # public repos need no token; private ones use it
    try:
        files = client.list_files(source, repo_type="model")
    except OSError as exc:  # huggingface_hub's errors (offline, unknown repo, HTTP) are OSErrors
        raise HubError(f"Could not fetch {source} from the Hub ({type(exc).__name__}): is it public, "
                       "spelled right, and is this machine online?") from None
    _refuse_pickles_only(files, source)
    try:
        with tempfile.TemporaryDirectory(prefix="studio-pull-") as tmp:
            try:
                folder = client.download(source, Path(tmp) / "repo", repo_type="model",
                                         allow_patterns=DOWNLOAD_PATTERNS)
            except OSError as exc:
                raise HubError(f"Could not download {source} from the Hub: {os_error_text(exc)}") from None
            return import_folder(Path(folder), store, base, origin=source, owner_hash=owner_hash)
    except OSError as exc:  # the temporary folder itself (a full disk)
        raise HubError(f"Could not pull {source}: {os_error_text(exc)}") from None


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system, say: then it is no folder to import
        return False


def os_error_text(exc: OSError) -> str:
    """An OSError in words a person can act on."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full (delete runs you no longer need, or free space)."
    return f"{exc.strerror or exc}."


def _refuse_pickles_only(files: list[str], where: str) -> None:
    names = [Path(f).name.lower() for f in files]
    pickled = sorted(n for n in names if n.endswith(PICKLE_SUFFIXES))
    if pickled and not any(n.endswith(".safetensors") for n in names):
        raise HubError(f"{where} holds only pickled weights ({', '.join(pickled)}); they can run code when "
                       "loaded, so the studio accepts safetensors only. Convert them to safetensors first.")


def _read_json(path: Path, name: str, origin: str) -> dict:
    """A JSON object from the folder being imported, bounded in size and depth (records.load_json)."""
    try:
        payload = load_json(read_text_bounded(path, MAX_RECORD_BYTES))
    except (OSError, BadRecord) as exc:
        raise HubError(f"{origin}: {name} is not readable JSON ({_why(exc)}).") from None
    if not isinstance(payload, dict):
        raise HubError(f"{origin}: {name} does not hold a JSON object.")
    return payload


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, BadRecord) else (exc.strerror or str(exc)) if isinstance(exc, OSError) \
        else str(exc)


def _same_base(name: str | None, base) -> bool:
    if not name or not isinstance(name, str):
        return False
    return name in (base.name, base.path) or (Path(name).name == Path(base.path).name == base.name)


def _full_matches_base(config: dict, base) -> bool:
    """A full model without a run.json fits when its architecture equals the base model's."""
    from transformers import AutoConfig

    try:
        base_config = AutoConfig.from_pretrained(base.path, local_files_only=hub_offline())
    except OSError:
        return False
    keys = ("model_type", "vocab_size", "d_model", "num_layers", "num_decoder_layers", "num_heads", "d_ff")
    return all(config.get(k) == getattr(base_config, k, None) for k in keys)


def import_folder(folder: Path, store: RunStore, base, origin: str, owner_hash: str = "") -> RunRecord:
    """Check a folder and copy it into the store as a new run (nothing is written when a check fails).

    Only the folder's own plain files are read, and only those a run consists of are copied: a link
    that leads out of the folder is refused, whatever it is called.
    """
    files = _folder_files(Path(folder), origin)
    _refuse_pickles_only(list(files), origin)
    model_names = sorted(n for n in files if _is_model_file(n))
    if not any(n.endswith(".safetensors") for n in model_names):
        raise HubError(f"{origin} holds no safetensors weights: it is not a run, an adapter or a model folder.")
    pushed = _read_json(files["run.json"], "run.json", origin) if "run.json" in files else {}
    _check_pushed_names(pushed, origin)
    if "adapter_config.json" in files:
        adapter = _read_json(files["adapter_config.json"], "adapter_config.json", origin)
        found = registry.by_peft_type(adapter.get("peft_type", ""))
        if found is None:
            known = ", ".join(m.label for m in registry.METHODS if not m.whole_model)
            raise HubError(f"{origin} is a {str(adapter.get('peft_type'))[:40]} adapter; the studio compares "
                           f"these adapters only: {known}.")
        method = found.name
        trained_on = pushed.get("base_model") or adapter.get("base_model_name_or_path")
        if not _same_base(trained_on, base):
            raise HubError(f"{origin} was trained on {str(trained_on or 'an unnamed base model')[:200]}, but this "
                           f"studio runs {base.name}; its adapter does not fit.")
    elif "config.json" in files:
        method = registry.whole_model_method().name
        config = _read_json(files["config.json"], "config.json", origin)
        fits = _same_base(pushed.get("base_model"), base) if pushed else _full_matches_base(config, base)
        if not fits:
            raise HubError(f"{origin} is a model for {pushed.get('base_model') or 'another architecture'}, but "
                           f"this studio runs {base.name}.")
    else:
        raise HubError(f"{origin} has neither adapter_config.json nor config.json.")
    if pushed and pushed.get("method") not in (None, method):
        raise HubError(f"{origin}: run.json says {pushed.get('method')}, but the folder holds a {method} model.")
    events = _read_events(files.get("events.jsonl"), origin)
    return _store_import(store, base, files, model_names, method, pushed, events, origin, owner_hash)


def _folder_files(folder: Path, origin: str) -> dict[str, Path]:
    """The plain files directly inside `folder`, by name, each as the path to read.

    A symbolic link counts only when it resolves to a plain file inside the folder (then its
    target is read); one that leads anywhere else is refused, so an import can never carry
    another file of this machine (/etc/passwd, the owner secret) into a run, a zip or a push.
    """
    root = folder.resolve()
    files = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise HubError(f"{origin} cannot be read ({_why(exc)}).") from None
    for entry in entries:
        path = entry
        if entry.is_symlink():
            try:
                path = entry.resolve(strict=True)
            except (OSError, RuntimeError):  # dangling, or a loop
                path = None
            if path is None or not path.is_relative_to(root):
                raise HubError(f"{origin}: {entry.name[:80]} is a link to something outside the folder; "
                               "copy the real file into the folder to import it.")
        try:
            if stat.S_ISREG(path.stat().st_mode):
                files[entry.name] = path
        except OSError:
            continue  # gone meanwhile, or unreadable: not part of what is imported
    return files


def _is_model_file(name: str) -> bool:
    lower = name.lower()
    return (name not in NOT_MODEL_FILES and not name.startswith(".") and not lower.endswith(PICKLE_SUFFIXES)
            and (lower.endswith(MODEL_FILE_SUFFIXES) or lower in TOKENIZER_TEXT_FILES))


def _check_pushed_names(pushed: dict, origin: str) -> None:
    """The run.json fields an import reads as text must be text (a number or a list there is no name)."""
    for key in ("method", "name", "base_model", "run_id", "created_at"):
        if pushed.get(key) is not None and not isinstance(pushed[key], str):
            raise HubError(f"{origin}: run.json's {key} must be text, not {type(pushed[key]).__name__}; "
                           "nothing was imported.")


def _read_events(path: Path | None, origin: str) -> str:
    """events.jsonl checked line by line against the store's own event schema; returns the text to write.

    Bounded in bytes and lines before anything is parsed; a last line cut short ends the curve.
    """
    if path is None:
        return ""
    try:
        text = read_text_bounded(path, MAX_IMPORT_EVENTS_BYTES)
    except (OSError, BadRecord) as exc:
        raise HubError(f"{origin}: events.jsonl cannot be imported ({_why(exc)}).") from None
    if text.count("\n") > MAX_IMPORT_EVENT_LINES:
        raise HubError(f"{origin}: events.jsonl has more than {MAX_IMPORT_EVENT_LINES:,} lines; a run's loss "
                       "curve has far fewer.")
    lines = text.split("\n")
    kept = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            kept.append(json.dumps(parse_event(line)) + "\n")
        except BadRecord as exc:
            if number == len(lines):  # no newline after it: a crash cut it short
                break
            raise HubError(f"{origin}: events.jsonl line {number} is not a loss-curve event ({exc}).") from None
    return "".join(kept)


# Fields a pushed run.json brings along: what it is, and its results.
IDENTITY_FIELDS = ("hyperparameters", "data", "device", "base_is_standin")
RESULT_FIELDS = ("trainable_params", "total_params", "trainable_share", "steps", "epochs", "train_examples",
                 "train_seconds", "train_loop_seconds", "samples_per_second", "final_loss", "final_loss_avg5",
                 "metrics")


def _store_import(store, base, files, model_names, method, pushed, events, origin, owner_hash="") -> RunRecord:
    """Put the run in place in one step (runs.RunStore.add_complete): all of it, or nothing."""
    run_id = new_run_id(method)
    name = clean_name(f"{pushed.get('name') or origin} (pulled)")
    record = {"method": method, "name": name, "base_model": base.name, "base_model_path": base.path,
              **{k: pushed[k] for k in IDENTITY_FIELDS if k in pushed},
              "pulled_from": origin, "original_run_id": pushed.get("run_id"), "trained_at": pushed.get("created_at"),
              "pulled_at": now_iso(), "owner_hash": owner_hash, **{k: pushed[k] for k in RESULT_FIELDS if k in pushed}}

    def write_files(folder: Path) -> None:
        model = folder / "model"
        model.mkdir()
        for file_name in model_names:
            _copy_plain_file(files[file_name], model / file_name)
            if file_name.endswith(".safetensors"):
                problem = safetensors_problem(model / file_name)
                if problem:  # checked on the copy: the bytes that will be loaded and shared
                    raise HubError(f"{origin}: {file_name} is {problem}; nothing was imported.")
        if not has_safe_weights(model):
            raise HubError(f"{origin}: the copied model has no safetensors weights.")
        (folder / "events.jsonl").write_text(events, encoding="utf-8")  # the whole curve in one write

    try:
        return store.add_complete(run_id, record, write_files)
    except BadRecord as exc:
        raise HubError(f"{origin}: its run.json is not a run record this studio can read ({exc}); "
                       "nothing was imported.") from None
    except OSError as exc:
        raise HubError(f"{origin} could not be saved: {os_error_text(exc)}") from None


def _copy_plain_file(source: Path, target: Path) -> None:
    """Copy one file's bytes, refusing anything that turned into a link or a device since it was checked."""
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise HubError(f"{source.name} is not a plain file.")
        with open(target, "xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
