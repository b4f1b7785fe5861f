"""The run store: every training run as a folder on disk, the single source of truth.

    store = RunStore(Path("runs")); store.sweep()          # once at start-up
    run_dir = store.create(run_id, record)                  # status "running"; owner_hash and process kept from here on
    store.append_event(run_id, {"step": 1, "loss": 2.3})
    store.finish(run_id, save_model=lambda folder: model.save_pretrained(folder), **fields)
    store.list(); store.get(run_id); store.rename(run_id, "nicer name"); store.delete(run_id)
    store.get(run_id).status                                # every read gives a typed RunRecord (records.py)
    store.problems                                          # run folders and files that could not be read, and why
    store.add_complete(run_id, record, write_files)         # an import: the whole run put in place at once
    store.export_zip(run_id, out_dir)                       # what a user may download (sharing.py)

Layout of runs/<id>/: run.json (method, base model, hyperparameters, status,
timings, parameter counts, size, metrics, the session's owner hash, and under
`process` the host, pid and start time of the process that trains it),
events.jsonl (the loss curve), model/ (a PEFT adapter folder or a full model,
safetensors only) and .run.lock (serialises updates between processes).

Why it cannot lose anything: a run's folder is built as .<id>.tmp-<pid>/ and
renamed into place with its first run.json, so a run folder always holds a record
(an import is put in place complete, model and all). run.json is replaced atomically
(write a temporary file, fsync, os.replace). The model is written into
model.tmp-<pid>/; before it is renamed to model/, run.json records under `finishing`
the final state it will then have, so a process killed between the rename and the
final write leaves a run that reads as finished, not interrupted. A folder whose
run.json is missing, unreadable or of the wrong shape (records.py) is never listed,
and is reported in `problems` with the reason, as are bad lines of a loss curve.
A final state that cannot be written (a full disk) is kept in memory, shown by
get() and list(), and written on the next read or at exit.

Reading never changes the store: a "running" run whose process is gone is shown
as "interrupted" (or as finished, when its model and `finishing` are on disk) at
once, and only sweep() writes that down; a finished run whose model has gone
reads with `model_missing` and no size. sweep() holds a lock on the runs folder
and touches nothing a live process owns.
"""
from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import errno
import json
import logging
import os
import re
import shutil
import stat
import threading
import unicodedata
import weakref
from pathlib import Path

from filelock import FileLock, Timeout

from studio.store.processes import is_alive, pid_alive, process_identity
from studio.store.records import (
    STATUSES,
    BadRecord,
    RunRecord,
    check_record,
    load_json,
    parse_event,
    parse_record,
    typed_record,
)

RUN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")   # use fullmatch (is_run_id): "$" lets "id\n" through
FINAL_STATUSES = tuple(s for s in STATUSES if s != "running")
LOADABLE_STATUSES = ("completed", "stopped")
# Final states worth keeping in memory when the disk refuses them; "completed" and "stopped"
# must be on disk before anyone relies on them, so a failed write of those raises instead.
KEPT_IF_UNWRITTEN = ("failed", "interrupted")
MAX_NAME_CHARS = 80
LOCK_SECONDS = 60
INTERRUPTED_ERROR = "The process training this run ended before it finished."
MODEL_MISSING = "Its saved model is gone (model/ was deleted or holds no safetensors weights)."
# run.json's note of the final state a run takes once its model/ is in place (see finish()).
FINISHING = "finishing"
# A run.json is a few kB; the loss curve of a 5,000-step run about 400 kB. Reads stop past these.
MAX_RECORD_BYTES = 4 * 2**20
MAX_EVENTS_BYTES = 32 * 2**20
# A safetensors header lists each tensor in a line of JSON: tens of kB for a large model.
MAX_SAFETENSORS_HEADER = 4 * 2**20
# Weight formats that unpickle on load (and so can run code): a model folder holding one is never loaded.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
# Leftovers named after the process that made them: model.tmp-<pid>, .run.json.tmp-<pid>-<thread>.
TMP_OWNER = re.compile(r"\.tmp-(\d+)")
DELETING_OWNER = re.compile(r"\.deleting-.+-(\d+)")

log = logging.getLogger(__name__)


class RunNotFound(KeyError):
    def __str__(self) -> str:  # KeyError's default repr-quotes the message
        return str(self.args[0])


class RunsDirUnusable(ValueError):
    """The runs folder cannot be made or used (a file stands where it should be)."""


def now_iso() -> str:
    # Microseconds: two runs started in the same second (a workshop room does that) must
    # still sort newest-first in a fixed order, not in the folder listing's order.
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def new_run_id(method: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{method}-{stamp}-{os.urandom(2).hex()}"


def is_run_id(value) -> bool:
    return isinstance(value, str) and RUN_ID_PATTERN.fullmatch(value) is not None


def clean_name(name) -> str:
    """A run name as shown everywhere: one line, no control or direction-override characters, capped.

    Control characters garble tables and logs, and bidi overrides can make one name look
    like another; letters of any script and emoji (joiners included) stay.
    """
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch == "\u200d" else " " for ch in str(name))
    return " ".join(text.split())[:MAX_NAME_CHARS]


def has_safe_weights(model_dir: Path) -> bool:
    """True when the folder holds safetensors weights and nothing that unpickles."""
    try:
        files = [f.name.lower() for f in model_dir.iterdir() if f.is_file()]
    except OSError:
        return False
    return any(f.endswith(".safetensors") for f in files) and not any(f.endswith(PICKLE_SUFFIXES) for f in files)


def safetensors_problem(path: Path) -> str | None:
    """What is wrong with a .safetensors file, or None when its framing holds.

    The file is an 8-byte little-endian header length, a JSON header naming each tensor's byte
    range, then the data; the ranges must fill the data section exactly, so random bytes and a
    truncated file are both caught, and the safetensors library must open it too.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            header_bytes = int.from_bytes(prefix, "little")
            if len(prefix) < 8:
                return f"not a safetensors file (only {size:,} bytes)"
            if header_bytes > min(MAX_SAFETENSORS_HEADER, size - 8):
                return f"not a safetensors file (its header length {header_bytes:,} does not fit its {size:,} bytes)"
            header_text = handle.read(header_bytes).decode("utf-8")
        header = load_json(header_text)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except (UnicodeDecodeError, BadRecord) as exc:
        return f"not a safetensors file (its header is not JSON: {exc})"
    needed = _safetensors_data_size(header)
    if isinstance(needed, str):
        return needed
    held = size - 8 - header_bytes
    if needed != held:
        return f"its tensors need {needed:,} bytes of data but it holds {held:,} (cut short, or not safetensors)"
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as weights:
            weights.keys()
    except Exception as exc:  # noqa: BLE001 - the library's own refusal, whatever its type, is the reason
        return f"safetensors cannot open it ({exc})"
    return None


def _safetensors_data_size(header) -> int | str:
    """The data size a safetensors header's byte ranges add up to, or what is wrong with it."""
    if not isinstance(header, dict):
        return "not a safetensors file (its header is not a JSON object)"
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            return f"not a safetensors file (tensor {str(name)[:40]!r} has no valid byte range)"
        end = max(end, offsets[1])
    return end


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def read_text_bounded(path: Path, limit: int, errors: str = "strict") -> str:
    """A regular file's text, read only up to `limit` bytes.

    Raises OSError when it cannot be read, BadRecord when it is too large, not a plain file
    (a FIFO would block, /dev/zero never end) or not UTF-8.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise BadRecord("not a plain file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BadRecord(f"larger than {limit:,} bytes")
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        raise BadRecord(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start:,})") from None


def write_json_atomic(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not also leave half a file behind
        raise


def as_seen(record: dict, model_dir: Path) -> dict:
    """The record as it truly stands, from what is on disk.

    "running" whose process has ended reads as the final state it noted under `finishing` when
    its model is in place (it was killed between the rename and the final write), else as
    "interrupted"; a finished run whose model folder has gone is marked `model_missing`, sizeless.
    """
    if record.get("status") == "running" and not is_alive(record.get("process")):
        finished = _finished_from_note(record, model_dir)
        return finished or dict(_without_note(record), status="interrupted", error=INTERRUPTED_ERROR)
    record = _without_note(record)
    if record.get("status") in LOADABLE_STATUSES and not has_safe_weights(model_dir):
        return dict(record, size_bytes=None, model_missing=MODEL_MISSING)
    return record


def _without_note(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != FINISHING} if FINISHING in record else record


def _finished_from_note(record: dict, model_dir: Path) -> dict | None:
    """The final record a killed finish() meant to write, when its model did land; else None."""
    note = record.get(FINISHING)
    if not isinstance(note, dict) or note.get("status") not in LOADABLE_STATUSES or not has_safe_weights(model_dir):
        return None
    finished = {**_without_note(record), **note}
    try:
        check_record(finished)
    except BadRecord:
        return None
    return finished


def _remove(entry: Path) -> None:
    shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)


def _leftover_owner_alive(name: str) -> bool:
    match = TMP_OWNER.search(name) or DELETING_OWNER.fullmatch(name)
    return bool(match) and pid_alive(int(match.group(1)))


def _is_empty_shell(folder: Path) -> bool:
    """A run folder with no record and nothing but a lock, an empty loss curve and dead leftovers.

    Older versions made the folder and its lock before the first run.json, so a full disk at
    creation left such shells (never listed, never deletable); nothing makes them now.
    """
    if (folder / "run.json").exists():
        return False
    try:
        entries = list(folder.iterdir())
    except OSError:
        return False
    return all(e.name == ".run.lock" or (e.name == "events.jsonl" and e.is_file() and e.stat().st_size == 0)
               or (".tmp-" in e.name and not _leftover_owner_alive(e.name)) for e in entries)


class RunStore:
    def __init__(self, root: Path):
        self.root = Path(root).expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunsDirUnusable(self._unusable_reason(exc)) from None
        self._lock = threading.RLock()
        self._unwritten: dict[str, dict] = {}      # run id -> final record the disk refused, retried on reads
        self._problems: dict[tuple[str, str], str] = {}
        self._seen: set[str] = set()               # runs read by the last list() or sweep(): their curves are checked
        self._events_checked: dict[str, tuple | None] = {}   # run id -> events.jsonl (size, mtime) last parsed
        atexit.register(_flush_at_exit, weakref.ref(self))

    def _unusable_reason(self, exc: OSError) -> str:
        blocker = next((p for p in (self.root, *self.root.parents) if p.exists() and not p.is_dir()), None)
        if blocker == self.root:
            return (f"The runs folder {self.root} is a file, not a folder; "
                    "point STUDIO_RUNS_DIR or --runs-dir elsewhere.")
        if blocker is not None:
            return (f"The runs folder {self.root} cannot be made: {blocker} is a file. "
                    "Point STUDIO_RUNS_DIR or --runs-dir elsewhere.")
        return f"The runs folder {self.root} cannot be made: {exc.strerror or exc}."

    # ------------------------------------------------------------------ paths
    def path(self, run_id: str) -> Path:
        """The run's folder; rejects anything that is not a plain run id inside the store."""
        if not is_run_id(run_id):
            raise RunNotFound(f"{str(run_id)[:80]!r} is not a valid run id.")
        folder = (self.root / run_id).resolve()
        if folder.parent != self.root:
            raise RunNotFound(f"{run_id!r} is not a valid run id.")
        return folder

    def model_dir(self, run_id: str) -> Path:
        return self.path(run_id) / "model"

    # ------------------------------------------------------------------ reading
    @property
    def problems(self) -> list[dict]:
        """Run folders and files that could not be read as records or events: what is wrong, so an
        operator can fix it. The loss curves of the runs last listed are checked here (again only
        when they changed), so asking costs nothing for a listing that never asks."""
        for run_id in sorted(self._seen):
            self._check_events(run_id)
        return [{"run_id": run_id, "file": file, "reason": reason}
                for (run_id, file), reason in sorted(self._problems.items())]

    def get(self, run_id: str) -> RunRecord:
        """The run's record as it stands now (see as_seen); never writes anything but a pending final state."""
        return self._typed(run_id, as_seen(self._read(run_id), self.model_dir(run_id)))

    def _typed(self, run_id: str, record: dict) -> RunRecord:
        """The typed record. What _read returned was checked already; what as_seen or an update
        added to it could still break the shape, and then the run is as unreadable as a bad run.json."""
        try:
            return typed_record(record)
        except BadRecord as exc:
            self._problems[(run_id, "run.json")] = str(exc)
            raise RunNotFound(f"Run {run_id!r} has an unreadable record ({exc}).") from None

    def _read(self, run_id: str) -> dict:
        """The record as written (or as it should have been written, when the disk refused it)."""
        folder = self.path(run_id)
        if run_id in self._unwritten:
            return self._retry_unwritten(run_id)
        try:
            record = parse_record(read_text_bounded(folder / "run.json", MAX_RECORD_BYTES))
        except FileNotFoundError:
            if not folder.is_dir():
                raise RunNotFound(f"No run {run_id!r}.") from None
            self._problems[(run_id, "run.json")] = "missing: the folder holds no run record"
            raise RunNotFound(f"Run {run_id!r} has no record (run.json is missing).") from None
        except (OSError, BadRecord) as exc:
            reason = str(exc) if isinstance(exc, BadRecord) else f"cannot be read ({exc.strerror or exc})"
            self._problems[(run_id, "run.json")] = reason
            raise RunNotFound(f"Run {run_id!r} has an unreadable record ({reason}).") from None
        self._problems.pop((run_id, "run.json"), None)
        record["run_id"] = run_id
        return record

    def list(self, method: str | None = None, loadable_only: bool = False) -> list[RunRecord]:
        """Every readable run, newest first; unreadable ones are left out and noted in `problems`."""
        records, seen = [], set()
        for folder in self.root.iterdir():
            if not is_run_id(folder.name) or not folder.is_dir():
                continue
            try:
                record = self.get(folder.name)
            except RunNotFound:
                continue
            seen.add(folder.name)
            if method and record.method != method:
                continue
            if loadable_only and not self.is_loadable(record):
                continue
            records.append(record)
        if method is None and not loadable_only:
            self._seen = seen
            self._forget_problems_of_gone_runs()
        # The run id breaks any remaining tie (runs written by older versions carry whole seconds).
        return sorted(records, key=lambda r: (r.created_at, r.run_id), reverse=True)

    def _forget_problems_of_gone_runs(self) -> None:
        """A folder deleted or renamed away (by another process too) has no problems left."""
        # list() first: other threads note problems while is_dir() waits on the disk
        for key in [k for k in list(self._problems) if not (self.root / k[0]).is_dir()]:
            self._problems.pop(key, None)

    def is_loadable(self, record: RunRecord) -> bool:
        """Finished, with a complete model folder in safetensors (only those are ever loaded)."""
        return record.status in LOADABLE_STATUSES and has_safe_weights(self.model_dir(record.run_id))

    def events(self, run_id: str) -> list[dict]:
        """The loss curve; a line of the wrong shape is skipped and noted (a last line cut short is just the end).

        A file that cannot be read, or reads past MAX_EVENTS_BYTES, is noted and gives no curve.
        """
        path = self.path(run_id) / "events.jsonl"
        self._events_checked[run_id] = _signature(path)
        try:
            text = read_text_bounded(path, MAX_EVENTS_BYTES, errors="replace")
        except FileNotFoundError:
            self._problems.pop((run_id, "events.jsonl"), None)
            return []
        except (OSError, BadRecord) as exc:
            reason = str(exc) if isinstance(exc, BadRecord) else f"cannot be read ({exc.strerror or exc})"
            self._problems[(run_id, "events.jsonl")] = reason
            return []
        lines = text.split("\n")
        events, bad = [], []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                events.append(parse_event(line))
            except BadRecord as exc:
                if number < len(lines):  # the final line has no newline yet: a crash cut it short
                    bad.append(f"line {number}: {exc}")
        if bad:
            more = f" (+{len(bad) - 3})" if len(bad) > 3 else ""
            self._problems[(run_id, "events.jsonl")] = "; ".join(bad[:3]) + more
        else:
            self._problems.pop((run_id, "events.jsonl"), None)
        return events

    def _check_events(self, run_id: str) -> None:
        """Parse a run's loss curve for `problems`, unless it is unchanged since it was last parsed."""
        with contextlib.suppress(RunNotFound):
            if self._events_checked.get(run_id, ()) != _signature(self.path(run_id) / "events.jsonl"):
                self.events(run_id)

    def require_loadable(self, run_id: str) -> RunRecord:
        record = self.get(run_id)
        if not self.is_loadable(record):
            raise RunNotFound(f"Run {run_id!r} has no saved model (status: {record.status}).")
        return record

    # ------------------------------------------------------------------ writing
    def create(self, run_id: str, record: dict) -> Path:
        """Make the run's folder and its complete first record: identity now, results later."""
        record = dict(record, run_id=run_id, status="running", created_at=now_iso(), process=process_identity())
        record.pop("owner", None)
        return self._place(run_id, lambda folder: record)

    def add_complete(self, run_id: str, record: dict, write_files) -> RunRecord:
        """Add a finished run (an import) in one step: write_files(folder) writes its model/ and
        events.jsonl into a temporary folder, which is renamed into place with run.json already
        saying "completed". A crash at any point leaves either the whole run or no run.

        Raises BadRecord when the record would not read back (nothing is written then).
        """
        now = now_iso()
        record = dict(record, run_id=run_id, status="completed", created_at=now, finished_at=now)
        record.pop("owner", None)
        record.pop("process", None)  # no process trains it: it is finished from its first moment
        check_record(record)

        def build(folder: Path) -> dict:
            write_files(folder)
            return dict(record, size_bytes=folder_size(folder / "model"))

        self._place(run_id, build)
        return self.get(run_id)

    def add_unstarted(self, run_id: str, record: dict, reason: str, queued_at: str | None = None) -> RunRecord:
        """Record a training that was queued and never started (queued_runs.py): no model, its reason."""
        now = now_iso()
        record = dict(record, run_id=run_id, status="interrupted", created_at=queued_at or now, finished_at=now,
                      error=reason, never_started=True)
        for field in ("owner", "process", "paused"):
            record.pop(field, None)
        check_record(record)
        self._place(run_id, lambda folder: record)
        return self.get(run_id)

    def _place(self, run_id: str, build) -> Path:
        """Build a run folder under a temporary name (build(folder) writes files, returns the record)
        and rename it into place: a run folder never exists without its run.json."""
        folder = self.path(run_id)
        with self._lock:
            if folder.exists():
                raise FileExistsError(errno.EEXIST, "A run with this id exists", str(folder))  # never overwritten
            # Named after this process, so a sweep removes it once the process is gone.
            tmp = self.root / f".{run_id}.tmp-{os.getpid()}-{threading.get_ident()}"
            try:
                tmp.mkdir()
                (tmp / ".run.lock").touch()
                (tmp / "events.jsonl").touch()
                write_json_atomic(tmp / "run.json", build(tmp))
                os.rename(tmp, folder)
            except BaseException as exc:
                shutil.rmtree(tmp, ignore_errors=True)  # a full disk must not leave a shell behind
                if isinstance(exc, OSError) and exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise FileExistsError(errno.EEXIST, "A run with this id exists", str(folder)) from None
                raise
        return folder

    def update(self, run_id: str, **fields) -> RunRecord:
        """Merge fields into run.json under the run's lock (other processes write it too); the record as written.

        A final "failed" / "interrupted" state the disk refuses (full, or the lock unobtainable)
        is kept in memory instead of raising: get() and list() show it, reads and exit retry it.
        """
        return self._typed(run_id, self._update(run_id, fields))

    def _update(self, run_id: str, fields: dict, drop: tuple[str, ...] = ()) -> dict:
        if not self.path(run_id).is_dir():  # filelock would make the folder for its lock: a record-less shell
            raise RunNotFound(f"No run {run_id!r}.")
        with self._lock:
            record = None
            try:
                with self._run_lock(run_id):
                    record = {key: value for key, value in {**self._read(run_id), **fields}.items()
                              if key not in drop}
                    write_json_atomic(self.path(run_id) / "run.json", record)
            except OSError as exc:
                if (record or fields).get("status") not in KEPT_IF_UNWRITTEN:
                    raise
                log.warning("Could not write run %s (%s); keeping its final state in memory.", run_id, exc)
                if record is None:
                    record = {k: v for k, v in {**self._read(run_id), **fields}.items() if k not in drop}
                self._unwritten[run_id] = record
                return dict(record)
            self._unwritten.pop(run_id, None)
            return record

    def append_event(self, run_id: str, event: dict) -> None:
        with open(self.path(run_id) / "events.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")

    def finish(self, run_id: str, status: str, save_model=None, **fields) -> RunRecord:
        """Save the model (if given) through a temporary folder, then record the final status."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"{status!r} is not a final status.")
        final = {"status": status, "finished_at": now_iso(), **fields}
        if save_model is not None:
            final["size_bytes"] = self._save_model(run_id, save_model, final)
        return self._typed(run_id, self._update(run_id, final, drop=(FINISHING,)))

    def _save_model(self, run_id: str, save_model, final: dict) -> int:
        """Write model/ through model.tmp-<pid>/; returns its size.

        The rename and the final run.json are two steps, so the final state goes on disk first,
        under `finishing`: a process killed between them leaves a run that as_seen() and the sweep
        finish from it, instead of an "interrupted" run holding a model nothing loads or lists.
        """
        folder = self.path(run_id)
        tmp = folder / f"model.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            save_model(tmp)
            size = folder_size(tmp)
            self.update(run_id, **{FINISHING: {**final, "size_bytes": size}})
            os.replace(tmp, folder / "model")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return size

    def flush(self) -> list[str]:
        """Try again to write final states the disk refused; returns the runs still unwritten."""
        for run_id in list(self._unwritten):
            with contextlib.suppress(RunNotFound):
                self._retry_unwritten(run_id)
        return list(self._unwritten)

    def _retry_unwritten(self, run_id: str) -> dict:
        with self._lock:
            record = self._unwritten.get(run_id)
            if record is None:
                return self._read(run_id)
            if not self.path(run_id).is_dir():  # deleted meanwhile
                self._unwritten.pop(run_id, None)
                raise RunNotFound(f"No run {run_id!r}.")
            try:
                write_json_atomic(self.path(run_id) / "run.json", record)
                self._unwritten.pop(run_id, None)
            except OSError:
                pass  # still refused: keep showing it from memory
            return dict(record)

    def rename(self, run_id: str, name: str) -> RunRecord:
        if not isinstance(name, str):
            raise ValueError("A run's name must be text.")  # noqa: TRY004 - callers report ValueErrors as bad input
        if len(" ".join(name.split())) > MAX_NAME_CHARS:
            raise ValueError(f"A run's name is at most {MAX_NAME_CHARS} characters.")
        name = clean_name(name)
        if not name:
            raise ValueError("A run's name cannot be empty.")
        return self.update(run_id, name=name)

    def delete(self, run_id: str, unreadable: bool = False) -> None:
        """Delete a run (not one still training). `unreadable`: also a run folder whose record cannot be read
        (the operator's way to clear one; a record is always written whole, so none is half-written)."""
        with self._lock:
            try:
                running = self.get(run_id).status == "running"  # as_seen: its process is alive
            except RunNotFound:
                if not (unreadable and self.path(run_id).is_dir()):
                    raise
                running = False
            if running:
                raise ValueError(f"Run {run_id!r} is still training; stop it first.")
            folder = self.path(run_id)
            # Rename first so a half-deleted folder is never listed as a run.
            trash = self.root / f".deleting-{run_id}-{os.getpid()}"
            os.replace(folder, trash)
            shutil.rmtree(trash, ignore_errors=True)
            self._unwritten.pop(run_id, None)
            self._seen.discard(run_id)
            for key in [k for k in self._problems if k[0] == run_id]:
                self._problems.pop(key, None)

    def export_zip(self, run_id: str, out_dir: Path) -> Path:
        """The run as a zip without the server's paths, host name or process (see sharing.py)."""
        from studio.store.sharing import shareable_zip

        return shareable_zip(self.path(run_id), self.get(run_id), Path(out_dir))

    @contextlib.contextmanager
    def _run_lock(self, run_id: str):
        """Another process's update of the same run waits; a disk too full for a lock file does not stop us."""
        lock = FileLock(self.path(run_id) / ".run.lock", timeout=LOCK_SECONDS, is_singleton=True)
        try:
            lock.acquire()
        except Timeout:
            raise  # someone holds it: waiting longer would hang the caller
        except OSError as exc:
            log.warning("No lock for run %s (%s); updating without it.", run_id, exc)
            yield
            return
        try:
            yield
        finally:
            lock.release()

    # ------------------------------------------------------------------ start-up
    def sweep(self) -> list[str]:
        """Remove leftovers no live process owns; mark runs whose process is gone as interrupted.

        One sweep at a time per runs folder; a run whose process lives is not touched at all.
        """
        with FileLock(self.root / ".sweep.lock", timeout=LOCK_SECONDS):
            interrupted, seen = [], set()
            for entry in self.root.iterdir():
                if entry.name.startswith(".deleting-") or ".tmp-" in entry.name:
                    if not _leftover_owner_alive(entry.name):
                        _remove(entry)
                elif is_run_id(entry.name) and entry.is_dir():
                    if _is_empty_shell(entry):
                        _remove(entry)
                        continue
                    seen.add(entry.name)
                    if self._sweep_run(entry):
                        interrupted.append(entry.name)
            self._seen = seen
            self._forget_problems_of_gone_runs()
            return interrupted

    def _sweep_run(self, folder: Path) -> bool:
        """Clean one run folder; True when it was marked interrupted just now."""
        try:
            record = self._read(folder.name)
        except RunNotFound:
            record = None
        if record is not None and record.get("status") == "running" and is_alive(record.get("process")):
            return False  # its process is at work here (saving into model.tmp-*, writing run.json)
        for leftover in folder.glob("*.tmp-*"):
            if not _leftover_owner_alive(leftover.name):
                _remove(leftover)
        if record is None or record.get("status") != "running":
            return False
        finished = _finished_from_note(record, folder / "model")
        if finished is not None:  # killed after its model landed: finish what finish() began
            self._update(folder.name, finished, drop=(FINISHING,))
            return False
        error = INTERRUPTED_ERROR
        paused = record.get("paused")
        if isinstance(paused, dict) and paused.get("step"):   # it was waiting for its next turn (jobs.py)
            error += (f" It had paused at step {paused['step']} of {paused.get('max_steps', '?')}, "
                      "waiting for its next turn.")
        self._update(folder.name, {"status": "interrupted", "finished_at": now_iso(), "error": error},
                     drop=(FINISHING,))
        return True


def _signature(path: Path) -> tuple | None:
    """(size, mtime) of a file, None when it is not there: enough to tell that it changed."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def _flush_at_exit(store_ref) -> None:
    store = store_ref()
    if store is not None and store._unwritten:
        left = store.flush()
        if left:
            log.error("Could not record the final state of %s; it will read as interrupted.", ", ".join(left))
