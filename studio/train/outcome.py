"""How a training ended, as train_run and the workers return it; light to import (no torch).

    outcome = train_run(...)       # RunRecord (final), or PausedTurn (its turn is over, it goes on later)
    outcome.status, outcome.error  # every outcome has both; NoRecord when no run record could say it
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.store.records import RunRecord


@dataclass(frozen=True)
class PausedTurn:
    """A turn that ended early so others could train; a later call with resume=paused carries the run on."""
    run_id: str
    paused: dict          # the checkpoint, the step, the time so far and the callback's state
    status: str = "paused"
    error: None = None


@dataclass(frozen=True)
class NoRecord:
    """A training that ended before its run had a record to say so (its worker died, or it raised first)."""
    error: str
    status: str = "failed"


# What training returns, each with .status and .error: the final record, or one of the two above.
TrainOutcome = RunRecord | PausedTurn | NoRecord
