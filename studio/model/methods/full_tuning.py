"""Full fine-tuning: every weight of (a copy of) the base model trains.

    from studio.model.methods.full_tuning import FULL_TUNING
    model = FULL_TUNING.build(base_model, FULL_TUNING.settings_from())   # the base itself, all weights trainable

It can learn the most, and costs the most: gradients and AdamW's two moments for every
parameter while training, and each run keeps a whole model of its own (saved with its
tokenizer, so transformers loads it on its own).
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.config.declare import validate_fields
from studio.model.methods.method import Method


@dataclass
class FullSettings:
    """Nothing to choose: every weight trains. Its budget is TrainConfig's, as every method's."""

    def validate(self) -> FullSettings:
        return validate_fields(self)


class FullTuning(Method):
    name = "full"
    label = "Full fine-tuning"
    help = ("**Full fine-tuning** updates every weight of the model. It can learn the most, but each run "
            "stores a complete copy of the model and needs the most memory while training.")
    # Full fine-tuning moves every weight; 3e-4 is a robust AdamW rate for T5-small
    # on short runs (1e-3 is unstable, 5e-5 barely moves in 60 steps).
    learning_rate = 3e-4
    settings = FullSettings
    color = "#d62728"
    hub_tag = "full-fine-tuning"
    peft_type = None

    def describe(self, settings) -> str:
        return "every weight"

    def build(self, base_model, settings, tokenizer_path: str | None = None):
        for param in base_model.parameters():
            param.requires_grad_(True)
        return base_model

    def trainable_params(self, shape, settings) -> int:
        return shape.total_params


FULL_TUNING = FullTuning()
