"""What a way of fine-tuning declares about itself: the one shape every method module fills in.

    from studio.model.methods import registry
    lora = registry.get("lora")
    lora.label, lora.learning_rate                     # "LoRA", 0.001
    settings = lora.settings_from({"lora_r": 8})       # LoraSettings(lora_r=8, ...), checked
    model = lora.build(base_model, settings, tokenizer_path)
    lora.trainable_params(shape, settings)             # what it trains on a T5 of that shape (memory.py)
    lora.save(model, tokenizer, folder)                # what a run's model folder holds
    report = parameter_report(model)   # {"trainable_params": ..., "total_params": ..., "trainable_share": ...}

A method module (full_tuning.py, lora.py, prompt_tuning.py, ...) defines its settings
dataclass and one instance of a Method subclass; registry.py lists it. Nothing else in the
studio names a method: the rest asks the registry, and reads these attributes.

Settings fields carry their method's prefix (lora_r, prompt_num_virtual_tokens): a setting
has one name everywhere, as its CLI flag (--lora-r), the Train form's field and API parameter
(lora_r) and its key in a run record's hyperparameters.

Runs of a method with a `peft_type` are PEFT adapters in PEFT's standard folder
(PeftModel.from_pretrained loads them anywhere); the model pool keeps them on its one shared
base. A method without one (full fine-tuning) trains the base's own weights, and each run
is a whole model of its own.

Importing this, or a method module, loads neither torch nor PEFT: the UI's handlers read
labels and settings from here. build() imports what it needs.
"""
from __future__ import annotations

import re
import typing
from dataclasses import fields

from studio.config.declare import shown


class Method:
    """One way of fine-tuning: its declarations (class attributes) and what it does (methods)."""

    name: str = ""              # in run records, run ids, --method values and JSON keys: never renamed
    label: str = ""             # how the page, the charts and the model cards call it
    help: str = ""              # Markdown under the Train tab's method choice: what it does, in two sentences
    learning_rate: float = 0.0  # its default AdamW rate (good rates differ a hundredfold between methods)
    settings: type = type(None)  # its settings dataclass: fields declared with config.declare.setting
    color: str = ""             # its colour in every chart
    hub_tag: str = ""           # the tag its model cards carry on the Hub
    peft_type: str | None = None  # the PEFT adapter type its runs save; None: a whole model of its own
    # Trained where the studio trains "the methods" unless told which: `prepare`, and the methods an
    # experiment starts with ticked. A method offered beside them is False.
    by_default: bool = True
    # It learns virtual tokens placed before the input and changes no weight of the model
    # (the soft-prompt readout reads them; the weight-change view has nothing to show).
    soft_prompt: bool = False

    def __repr__(self) -> str:
        return f"<method {self.name}>"

    # ------------------------------------------------------------------ settings
    @property
    def whole_model(self) -> bool:
        """Its runs are whole models that train the base's own weights (no adapter on a frozen base)."""
        return self.peft_type is None

    def settings_from(self, overrides: dict | None = None):
        """Its settings dataclass with every known override applied (unknown keys and None are left out), checked.

        A tuple setting (target modules) may come as "q, k ,v" text, as a CLI flag gives it. A name
        without the method's prefix ({"r": 8} for lora_r) still reads: scripts and experiment records
        from before every setting had one name used those."""
        kinds = typing.get_type_hints(self.settings)
        known = {f.name for f in fields(self.settings)}
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        old = {f"{self.name}_{k}": v for k, v in given.items() if k not in known}
        clean = {k: v for k, v in {**old, **given}.items() if k in known}   # the name as declared wins
        for key, value in clean.items():
            if typing.get_origin(kinds[key]) is tuple:
                if isinstance(value, str):
                    value = [part.strip() for part in value.split(",") if part.strip()]
                clean[key] = tuple(value)
        return self.settings(**clean).validate()

    def settings_without_tokenizer(self):
        """Its default settings, changed where they would need the base model's tokenizer (a bare model)."""
        return self.settings_from()

    def describe(self, settings) -> str:
        """Its settings in a few words, for the Train tab's help line: "rank 16 on q, v"."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the model
    def build(self, base_model, settings, tokenizer_path: str | None = None):
        """A trainable model; `base_model` is wrapped or changed in place. Adapter methods wrap it in PEFT."""
        from peft import get_peft_model

        return get_peft_model(base_model, self.peft_config(settings, tokenizer_path))

    def peft_config(self, settings, tokenizer_path: str | None = None):
        """The PEFT config of an adapter method (methods with a peft_type define it)."""
        raise NotImplementedError(f"{self.label} trains no PEFT adapter.")

    def save(self, model, tokenizer, folder) -> None:
        """What a run keeps: PEFT's adapter folder, or a whole model with its tokenizer (loadable on its own)."""
        model.save_pretrained(folder)
        if self.whole_model:
            tokenizer.save_pretrained(folder)

    # ------------------------------------------------------------------ what it costs (memory.py)
    def trainable_params(self, shape, settings) -> int:
        """The values it trains on a gated T5 of `shape` (memory.T5Shape), counted as PEFT counts them."""
        raise NotImplementedError

    def extra_source_tokens(self, settings) -> int:
        """Positions it adds to every input (a soft prompt's virtual tokens): activations are kept for them too."""
        return 0


# A target module as PEFT matches it by name; other strings it would read as regular expressions.
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,63}")


def check_module_names(names, *, none: str, kind: str, example: str) -> None:
    """An adapter's target modules: at least one (else `none`), each a plain module name (else "... is not
    `kind` name (e.g. `example`)")."""
    if not names:
        raise ValueError(none)
    for name in names:
        if not isinstance(name, str) or not MODULE_NAME.fullmatch(name):
            raise ValueError(f"{shown(str(name))} is not {kind} name (e.g. {example}).")


def parameter_report(model) -> dict:
    """Trainable and total parameters; for PEFT models the total includes the frozen base."""
    if hasattr(model, "get_nb_trainable_parameters"):
        trainable, total = model.get_nb_trainable_parameters()
    else:
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
    return {"trainable_params": int(trainable), "total_params": int(total),
            "trainable_share": trainable / total if total else 0.0}
