"""A run as a zip anyone may download: the model, the record and the loss curve, without the server's details.

    path = shareable_zip(run_folder, record, Path("/tmp/out"))   # -> /tmp/out/<run_id>.zip

What stays on the server: the training process (host name, pid, start time), the
traceback of a failure (it names the server's folders), where a tracker logged the run,
the tracker's own files (tensorboard/, wandb/: events.jsonl holds the same curve, and an
event file names the host in its file name and in binary inside), and any local path. A base
model loaded from a folder is named by its public name instead (the hub id, the
stand-in's name, or `./<folder name>`), in run.json, adapter_config.json and the
model card alike; other absolute paths under the home or the runs folder become
`~/...` and `runs/...`.
"""
from __future__ import annotations

import json
import re
import socket
import zipfile
from pathlib import Path

from studio.store.records import RunRecord

# Kept out of the shared run.json: they describe the server, not the run. `reported_to` says where on
# this server (or which tracking server) the run was logged; hyperparameters.report_to still names the tracker.
PRIVATE_KEYS = ("process", "owner", "owner_hash", "traceback", "base_model_path", "reported_to")
# Files rewritten as text; everything else (safetensors, sentencepiece models) is copied byte for byte.
TEXT_SUFFIXES = (".json", ".jsonl", ".md", ".txt", ".yaml", ".yml")


def public_model_name(name: str) -> str:
    """A hub id stays as it is; a local folder becomes `./<its name>`."""
    if name.startswith(("/", "~", ".")) or "\\" in name:
        return f"./{Path(name).expanduser().name}"
    return name


def replacements(record: RunRecord, run_folder: Path) -> list[tuple[str, str]]:
    """(server text, shared text) pairs, longest first so a path is replaced before its parents."""
    public = public_model_name(record.base_model or "")
    pairs = {}
    for local in (record.base_model_path, record.base_model):
        if local and local != public and local.startswith(("/", "~", ".")):
            for form in {local, str(Path(local).expanduser()), str(Path(local).expanduser().resolve())}:
                pairs[form] = public
    runs_root = run_folder.resolve().parent
    pairs[str(runs_root)] = "runs"
    home = str(Path.home())
    if len(home) > 1:  # a home of "/" would turn every path into "~"
        pairs[home] = "~"
    host = socket.gethostname()
    if len(host) > 3:  # a very short host name would match inside ordinary words
        pairs[host] = "<host>"
    pairs = {key.rstrip("/"): value for key, value in pairs.items() if len(key.rstrip("/")) > 1}
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


# Any absolute path left once the known ones are replaced (a temp folder, another user's home).
ABSOLUTE_PATH = re.compile(r"(?:~|[A-Za-z]:)?[/\\](?:[\w.@+-]+[/\\])+[\w.@+-]*")


def scrub(text: str, pairs: list[tuple[str, str]], other_paths: str | None = None) -> str:
    """Replace the server's text by its shared form; with `other_paths`, every remaining absolute path too.

    The zip keeps `~/...` and `runs/...` readable; a Hub upload (hub.py) publishes no path at all.
    """
    for server, shared in pairs:
        text = text.replace(server, shared)
        escaped = json.dumps(server)[1:-1]  # the same path as it appears inside a JSON string
        if escaped != server:
            text = text.replace(escaped, json.dumps(shared)[1:-1])
    if other_paths is not None:
        text = ABSOLUTE_PATH.sub(other_paths, text)
    return text


def scrub_value(value, pairs: list[tuple[str, str]], other_paths: str | None = None):
    """scrub() on every string inside a decoded JSON value (keys stay), for files whose escapes must survive."""
    if isinstance(value, str):
        return scrub(value, pairs, other_paths)
    if isinstance(value, dict):
        return {key: scrub_value(item, pairs, other_paths) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_value(item, pairs, other_paths) for item in value]
    return value


def shared_record(record: RunRecord) -> dict:
    shared = {key: value for key, value in record.as_dict().items() if key not in PRIVATE_KEYS}
    shared["base_model"] = public_model_name(record.base_model or "")
    return shared


def shareable_zip(run_folder: Path, record: RunRecord, out_dir: Path) -> Path:
    """Write `<out_dir>/<run_id>.zip`: run.json and events.jsonl, and model/ if saved."""
    pairs = replacements(record, run_folder)
    target = Path(out_dir) / f"{record.run_id}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("run.json", scrub(json.dumps(shared_record(record), indent=2, sort_keys=True), pairs))
        for path in _shared_files(run_folder):
            name = path.relative_to(run_folder).as_posix()
            if path.suffix.lower() in TEXT_SUFFIXES:
                archive.writestr(name, scrub(path.read_text(encoding="utf-8", errors="replace"), pairs))
            else:
                archive.write(path, name)
    return target


def _shared_files(run_folder: Path) -> list[Path]:
    """events.jsonl and the finished model folder; never locks, temporary files or run.json itself."""
    files = [run_folder / "events.jsonl"] if (run_folder / "events.jsonl").is_file() else []
    model = run_folder / "model"
    if model.is_dir():
        files += sorted(p for p in model.rglob("*") if p.is_file() and not p.is_symlink()
                        and not any(part.startswith(".") for part in p.relative_to(run_folder).parts))
    return files
