"""The Train tab's base-model section: switch between the operator's allowed base models; the memory a run needs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from studio.config.declare import parse
from studio.config.settings import TrainConfig
from studio.model.methods import registry

from .common import one_of, plain, refuse_in_presenter_mode

if TYPE_CHECKING:
    from studio.service.engine import Studio


def switch_base(studio: Studio, name) -> str:
    """Switching the base changes the studio for everyone: only where the operator allows it
    (STUDIO_ALLOW_BASE_SWITCH=1), and never in presenter mode."""
    refuse_in_presenter_mode(studio, "switching the base model")
    if not studio.settings.allow_base_switch:
        raise PermissionError("Switching the base model is the operator's choice on this studio "
                              "(STUDIO_ALLOW_BASE_SWITCH=1); it changes the studio for everyone.")
    return plain(studio.switch_base(name))


def memory_text(studio: Studio, method, batch_size) -> str:
    """Training memory: needs about 2.1 GB (LoRA, batch size 8, on google/flan-t5-base; ...)"."""
    method = one_of("method", method, registry.NAMES)
    try:
        batch = parse(TrainConfig, "batch_size", batch_size)
    except ValueError:
        return ""  # the form shows its own message for a bad batch size when Start is pressed
    estimate = studio.memory_estimate(method, batch)
    return (f"Training memory: {estimate['text']} ({registry.label(method)}, batch size {batch}, on "
            f"{plain(studio.base.name)}; an estimate from the model's shape).")
