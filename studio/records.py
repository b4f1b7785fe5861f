"""The shape of run.json and of events.jsonl lines, checked on every read so one bad file cannot stop the studio.

    record = parse_record(text)      # the record as a dict; raises BadRecord saying what is wrong
    event = parse_event(line)        # one loss-curve event as a dict; raises BadRecord

Checking is strict about types (a number where text belongs, or text where a number
belongs, is refused rather than converted) and open to extra keys, so records
written by newer versions still read. Records from before the session owner was
kept at creation stored the training process under `owner`; they are read as `process`.
"""
from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

STATUSES = ("running", "completed", "stopped", "failed", "interrupted")


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
    """What the studio reads from run.json; the numbers are those the tables and charts format."""
    method: str
    status: Literal[STATUSES]
    created_at: str
    name: str = ""
    owner_hash: str = ""
    process: ProcessInfo | None = None
    base_model: str | None = None
    base_model_path: str | None = None
    hyperparameters: dict | None = None
    metrics: Metrics | None = None
    finished_at: str | None = None
    error: str | None = None
    steps: int | None = None
    epochs: float | None = None
    trainable_params: int | None = None
    total_params: int | None = None
    trainable_share: float | None = None
    size_bytes: int | None = None
    train_seconds: float | None = None
    samples_per_second: float | None = None
    final_loss: float | None = None
    final_loss_avg5: float | None = None


class Event(_Checked):
    type: str


class StepEvent(Event):
    step: int
    loss: float
    max_steps: int | None = None


def parse_record(text: str) -> dict:
    """run.json's text -> the record, with an old `owner` (process identity) read as `process`."""
    record = _json(text)
    if not isinstance(record, dict):
        raise BadRecord(f"a run record must be a JSON object, not {type(record).__name__}")
    if "owner" in record and "process" not in record:
        record["process"] = record.pop("owner")
    _check(RunRecord, record)
    return record


def parse_event(line: str) -> dict:
    event = _json(line)
    if not isinstance(event, dict):
        raise BadRecord(f"an event must be a JSON object, not {type(event).__name__}")
    _check(StepEvent if event.get("type") == "step" else Event, event)
    return event


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadRecord(f"not JSON ({exc})") from None


def _check(schema: type[BaseModel], payload: dict) -> None:
    try:
        schema.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "record"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise BadRecord(f"{where}: {first['msg']}{more}") from None
