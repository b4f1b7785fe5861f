"""The Train tab's base-model section: switch between the operator's allowed base models; the memory a run needs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...config import METHOD_LABELS, METHODS, TrainConfig
from ...declare import parse
from .common import one_of, plain

if TYPE_CHECKING:
    from ...engine import Studio


def switch_base(studio: Studio, name) -> str:
    return plain(studio.switch_base(name))


def memory_text(studio: Studio, method, batch_size) -> str:
    """Training memory: needs about 2.1 GB (LoRA, batch size 8, on google/flan-t5-base; ...)"."""
    method = one_of("method", method, METHODS)
    try:
        batch = parse(TrainConfig, "batch_size", batch_size)
    except ValueError:
        return ""  # the form shows its own message for a bad batch size when Start is pressed
    estimate = studio.memory_estimate(method, batch)
    return (f"Training memory: {estimate['text']} ({METHOD_LABELS[method]}, batch size {batch}, on "
            f"{plain(studio.base.name)}; an estimate from the model's shape).")
