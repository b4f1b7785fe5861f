"""The shape of run.json and of events.jsonl lines, checked on every read so one bad file cannot stop the studio.

    record = parse_record(text)      # the record as a dict; raises BadRecord saying what is wrong
    run = typed_record(record)       # as the RunRecord the store hands out: run.status, run.metrics.rougeL
    event = parse_event(line)        # one loss-curve event as a dict; raises BadRecord
    check_record(record)             # a record about to be written (an import): BadRecord if it would not read
    payload = load_json(text)        # any JSON from a run folder, bounded in size and depth; BadRecord

Whatever the text, the only exception is BadRecord: JSON is bounded in size
(MAX_JSON_CHARS) and nesting (MAX_JSON_DEPTH) before it is parsed, because the
parser recurses and 100,000 nested `[` would raise RecursionError, not ValueError.

Checking is strict about types (a number where text belongs, or text where a number
belongs, is refused rather than converted) and open to extra keys, so records
written by newer versions still read. Records from before the session owner was
kept at creation stored the training process under `owner`; they are read as `process`.
"""
from __future__ import annotations

import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

STATUSES = ("running", "completed", "stopped", "failed", "interrupted")
# A record the studio writes is a few kB and nests 4 deep (experiment.budget, metrics.by_topic...);
# these bounds leave ample room for newer versions and refuse what only an attack produces.
MAX_JSON_CHARS = 4 * 2**20
MAX_JSON_DEPTH = 32
# A JSON string, escapes included (its brackets nest nothing). It also matches a string left open
# to the end of the text, so every attempt succeeds and stripping stays linear in the text's length.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class BadRecord(ValueError):
    """A run.json or events line that does not have the shape the studio writes."""


class _Checked(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class ProcessInfo(_Checked):
    host: str
    pid: int
    started: float


class Metrics(_Checked):
    rouge1: float | None = None
    rouge2: float | None = None
    rougeL: float | None = None
    rougeLsum: float | None = None
    split: str | None = None
    examples: int | None = None


class RunRecord(_Checked):
    """One run as the studio reads it: run.json checked, with its folder's name and what the folder says.

    The store hands these out (never the raw dict), so a field's name and type are written once, here:
    `record.metrics.rougeL`, not `(record.get("metrics") or {}).get("rougeL")`. Keys it does not name
    (a newer version's, or a method's own) stay readable as attributes and in `as_dict()`. Frozen: a
    change goes to disk through RunStore.update, never into a copy someone else holds.
    """
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    method: str
    status: Literal[STATUSES]
    created_at: str
    run_id: str = ""                    # the folder's name, set when read
    name: str = ""
    owner_hash: str = ""
    process: ProcessInfo | None = None
    base_model: str | None = None
    base_model_path: str | None = None
    base_is_standin: bool = False
    data: str | None = None
    device: str | None = None
    hyperparameters: dict | None = None
    budget: dict | None = None          # what the step budget meant for the data (training_plan)
    experiment: dict | None = None      # {"id": ..., ...} when the run is one of a fair experiment's
    paused: dict | None = None          # {"step", "max_steps", "at"} while paused between turns
    metrics: Metrics | None = None
    finished_at: str | None = None
    error: str | None = None
    traceback: str | None = None
    steps: int | None = None
    epochs: float | None = None
    trainable_params: int | None = None
    total_params: int | None = None
    trainable_share: float | None = None
    effective_batch_size: int | None = None
    size_bytes: int | None = None
    train_seconds: float | None = None
    train_loop_seconds: float | None = None
    samples_per_second: float | None = None
    final_loss: float | None = None
    final_loss_avg5: float | None = None
    train_examples: int | None = None
    turns: int | None = None            # turns it trained in (each after the first resumed a checkpoint)
    validation_pairs: int | None = None
    eval_seconds: float | None = None
    final_eval_loss: float | None = None
    best_eval_loss: float | None = None
    best_eval_step: int | None = None
    stopped_early: bool = False         # the validation loss ended it (stop_reason says how)
    stop_reason: str | None = None
    compiled: bool | None = None        # trained with torch.compile (compile_reason says why or why not)
    compile_reason: str | None = None
    compile_seconds: float | None = None
    reported_to: dict | None = None     # the tracker the run reported to
    pulled_from: str | None = None      # the Hub repo or folder an imported run came from
    never_started: bool = False         # queued, and the studio stopped before its turn
    model_missing: str | None = None    # finished, but its model folder has gone (as_seen)

    @property
    def rouge_l(self) -> float | None:
        """The ROUGE-L kept by the last evaluation, if any."""
        return self.metrics.rougeL if self.metrics else None

    def trained_on(self, base_path: str, base_name: str) -> bool:
        """Whether the run was trained on this base model (its folder, or its name where the folder moved)."""
        return self.base_model_path == base_path or self.base_model == base_name

    @property
    def experiment_id(self) -> str | None:
        """The fair experiment the run belongs to, if any."""
        return (self.experiment or {}).get("id")

    def __contains__(self, key) -> bool:
        # A model iterates over (name, value) pairs, so `"error" in record` would quietly be False.
        raise TypeError("A RunRecord is not a dict: read record.<field>, or record.as_dict() for the keys written.")

    def as_dict(self) -> dict:
        """The record as plain JSON values, with exactly the keys it was read with (--json, the API, files)."""
        return self.model_dump(mode="json", exclude_unset=True)


class Event(_Checked):
    type: str


class StepEvent(Event):
    step: int
    loss: float
    max_steps: int | None = None


def parse_record(text: str) -> dict:
    """run.json's text -> the record, with an old `owner` (process identity) read as `process`."""
    record = load_json(text)
    if not isinstance(record, dict):
        raise BadRecord(f"a run record must be a JSON object, not {type(record).__name__}")
    if "owner" in record and "process" not in record:
        record["process"] = record.pop("owner")
    _check(RunRecord, record)
    return record


def parse_event(line: str) -> dict:
    event = load_json(line)
    if not isinstance(event, dict):
        raise BadRecord(f"an event must be a JSON object, not {type(event).__name__}")
    _check(StepEvent if event.get("type") == "step" else Event, event)
    return event


def typed_record(record: dict) -> RunRecord:
    """A record dict (already read with parse_record) as the typed record; BadRecord if it has no run's shape."""
    try:
        return RunRecord.model_validate(record)
    except ValidationError as exc:
        raise BadRecord(_first_error(exc)) from None


def check_record(record: dict) -> None:
    """Raise BadRecord unless `record`, once written as run.json, would read back as a run."""
    parse_record(json.dumps(record))


def load_json(text: str):
    """Parse JSON found in a run folder; anything wrong with it (too long, too deep, not JSON) is BadRecord."""
    if len(text) > MAX_JSON_CHARS:
        raise BadRecord(f"longer than {MAX_JSON_CHARS:,} characters ({len(text):,})")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BadRecord(f"nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadRecord(f"not JSON ({exc})") from None


def json_depth(text: str, stop_above: int = MAX_JSON_DEPTH) -> int:
    """How deep the brackets of a JSON text nest outside strings (0 for a plain value).

    Counting stops once past `stop_above`: a text of a million `[` is refused at the 33rd.
    """
    depth = deepest = 0
    for bracket in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > stop_above:
                break
    return deepest


def _check(schema: type[BaseModel], payload: dict) -> None:
    try:
        schema.model_validate(payload)
    except ValidationError as exc:
        raise BadRecord(_first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"
