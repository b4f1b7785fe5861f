"""Every way of fine-tuning the studio offers, in the order it shows them: the one list the rest iterates.

    from studio.model.methods import registry
    registry.NAMES                        # ("full", "lora", "prompt")
    registry.get("lora").label            # "LoRA"; an unknown name is a ValueError that lists the known ones
    registry.LABELS["prompt"]             # "Prompt tuning"
    registry.method_settings("lora", {"lora_r": 8})   # LoraSettings(lora_r=8, ...), checked
    registry.DEFAULT_NAMES                # what `prepare` trains and an experiment ticks unless told otherwise
    registry.by_peft_type("LORA")         # the method whose runs are adapters of that PEFT type (imports)
    registry.form_settings()              # [(method, Spec), ...]: every setting a form or API call may set

A new method is one module (see method.py for what it declares) and one line here.

Why the model layer: a method builds models and says what they cost in memory, so it lives
with the base model and the memory estimate, above the run store and the settings. Nothing
below may import it: the config layer (settings.py) lists no methods, and the Copy-as-command
line (train_command.py) is given a method's settings object. The Hub push and pull
(model/hub.py) reads a method's label, tag and adapter type, so it sits in this layer too.
Importing the registry loads neither torch nor PEFT (the UI's handlers use it).
"""
from __future__ import annotations

from studio.config.declare import Spec, specs
from studio.model.methods import full_tuning, ia3, lora, prompt_tuning
from studio.model.methods.method import Method

# The order every list, column and chart shows them in.
METHODS: tuple[Method, ...] = (
    full_tuning.FULL_TUNING,
    lora.LORA,
    prompt_tuning.PROMPT_TUNING,
    ia3.IA3,
)

# The method the Train tab and the training API start from: the cheapest that trains well.
DEFAULT_TRAINING = lora.LORA.name

NAMES = tuple(m.name for m in METHODS)
LABELS = {m.name: m.label for m in METHODS}
DEFAULT_NAMES = tuple(m.name for m in METHODS if m.by_default)
# Methods offered beside the default ones. In a positional API (an endpoint's parameters, an event's outputs)
# they come after everything else, so a script written before one was registered keeps its positions.
OPTIONAL_NAMES = tuple(m.name for m in METHODS if not m.by_default)
_BY_NAME = {m.name: m for m in METHODS}


def find(name) -> Method | None:
    """The method called `name`, or None (a record from elsewhere may name one this studio lacks)."""
    return _BY_NAME.get(name) if isinstance(name, str) else None


def get(name) -> Method:
    """The method called `name`; a ValueError naming the known ones if there is none."""
    found = find(name)
    if found is None:
        raise ValueError(f"Unknown method {str(name)[:40]!r}: choose one of {', '.join(NAMES)}.")
    return found


def label(name) -> str:
    """A method's label, or the name itself where no method has it."""
    found = find(name)
    return found.label if found else str(name)


def method_settings(name: str, overrides: dict | None = None):
    """The method's settings dataclass with any known override applied, checked."""
    return get(name).settings_from(overrides)


def by_peft_type(peft_type) -> Method | None:
    """The method whose runs are PEFT adapters of `peft_type` ("LORA", "PROMPT_TUNING"), or None."""
    return next((m for m in METHODS if m.peft_type is not None and m.peft_type == str(peft_type).upper()), None)


def whole_model_method() -> Method:
    """The method whose runs are whole models (full fine-tuning): what a plain model folder imports as."""
    return next(m for m in METHODS if m.whole_model)


def settings_classes() -> tuple[type, ...]:
    return tuple(m.settings for m in METHODS)


def form_settings() -> list[tuple[Method, Spec]]:
    """Every method setting a person may set (those with a CLI flag), by method, in declaration order.

    Their field names are unique across the studio, so each is a Train form field, an API parameter
    and a CLI flag of that one name."""
    return [(m, s) for m in METHODS for s in specs(m.settings).values() if s.cli]
