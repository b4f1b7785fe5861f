"""Settings declared once: a dataclass field's metadata drives its checks, its CLI flag and its UI widget.

    @dataclass
    class LoraSettings:
        lora_r: int = setting(16, "LoRA rank", low=1, high=512, label="LoRA rank r")

    check(LoraSettings, "lora_r", 0)        # ValueError: The LoRA rank must be between 1 and 512, not 0.
    parse(LoraSettings, "lora_r", "8")      # 8: form and API values may arrive as text
    validate_fields(LoraSettings(lora_r=8)) # every field of an instance, as its validate() does
    add_flags(parser, LoraSettings)         # --lora-r, --lora-alpha, ... (see add_flags)
    spec(LoraSettings, "lora_r").bounds     # (1, 512) for a widget's minimum and maximum

A new hyperparameter is one `setting(...)` line (in config/settings.py, or in its method's
module under model/methods/) plus the code that uses it; its flag, its form field and API
parameter, its widget and its validation follow from that line. Field names are unique
across all settings (a method's carry its prefix: lora_r), so one name serves everywhere.

Why no library checks or parses these (weighed against pydantic 2.14 and HfArgumentParser):
- pydantic's `Field(ge=, le=)` in lax mode takes True as 1 for a whole number, answers "8.5" and
  "abc" with the same int_parsing error (the studio says "must be a whole number" for one and
  "must be a number" for the other) and refuses "1e2"; strict mode refuses the 5.0 a Gradio number
  box sends for 5. Either way the text-to-number step and every message would stay here, with a
  table from pydantic's error types to them on top: more code than the comparisons it would save.
- HfArgumentParser fills unset flags with the dataclass's defaults, but an unset flag must leave
  the method's own default in charge (LoRA's learning rate is not prompt tuning's); it has no
  mutually exclusive groups (--steps or --epochs). argparse, which it wraps, is used directly below.
tests/test_declare.py pins the behaviour a swap would have to keep.
"""
from __future__ import annotations

import argparse
import functools
import math
import typing
from dataclasses import MISSING, dataclass, field, fields

REQUIRED = object()   # parse(): a blank value is an error, not a default


def setting(default=MISSING, help: str = "", *, name: str = "", label: str = "", low=None, high=None,
            above=None, choices: tuple | None = None, options: tuple | None = None, chars: int | None = None,
            flag: str | None = None, aliases: tuple[str, ...] = (), cli: bool = True, group: str | None = None,
            info: str = "", blank=REQUIRED, step: float | None = None, choice_labels: tuple[str, ...] | None = None,
            default_factory=MISSING):
    """A dataclass field with everything the CLI, the UI and the checks need to know about it.

    name: how messages call it ("number of steps"); label: the UI's label (default: name, capitalised);
    low/high: inclusive bounds; above: an exclusive lower bound (a learning rate must be above 0);
    choices: the only values allowed; options: values the UI offers where others are allowed too;
    chars: the longest text allowed; flag: the CLI flag (default --field-name), aliases: older
    spellings that keep working; cli=False keeps a field off the command line; group: flags of one
    group exclude each other (steps or epochs); info: the UI's hint under the widget.
    """
    metadata = {"help": help, "name": name, "label": label, "low": low, "high": high, "above": above,
                "choices": choices, "options": options, "chars": chars, "flag": flag, "aliases": tuple(aliases),
                "cli": cli, "group": group, "info": info, "blank": blank, "step": step, "choice_labels": choice_labels}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Spec:
    """One declared field, with its type resolved: what the checks, flags and widgets read."""
    field: str
    kind: type            # int, float, str, bool or tuple
    optional: bool        # None is a valid value (it means "the default elsewhere")
    default: object
    help: str
    name: str
    label: str
    low: float | None
    high: float | None
    above: float | None
    choices: tuple | None
    options: tuple | None
    chars: int | None
    flag: str | None
    aliases: tuple[str, ...]
    cli: bool
    group: str | None
    info: str
    blank: object = REQUIRED      # what an empty form value means; REQUIRED: it is refused
    step: float | None = None
    choice_labels: tuple[str, ...] | None = None

    @property
    def bounds(self) -> tuple:
        """(minimum, maximum) for a widget; an exclusive bound is left to the check."""
        return self.low, self.high


@functools.cache
def specs(cls) -> dict[str, Spec]:
    hints = typing.get_type_hints(cls)
    out = {}
    for f in fields(cls):
        kind, optional = _kind(hints[f.name])
        meta = f.metadata
        default = f.default if f.default is not MISSING else (
            f.default_factory() if f.default_factory is not MISSING else None)
        name = meta.get("name") or f.name.replace("_", " ")
        out[f.name] = Spec(f.name, kind, optional, default, meta.get("help", ""), name,
                           meta.get("label") or name[:1].upper() + name[1:], meta.get("low"), meta.get("high"),
                           meta.get("above"), meta.get("choices"), meta.get("options"), meta.get("chars"),
                           meta.get("flag"), meta.get("aliases", ()), meta.get("cli", True), meta.get("group"),
                           meta.get("info", ""), meta.get("blank", REQUIRED), meta.get("step"),
                           meta.get("choice_labels"))
    return out


def spec(cls, name: str) -> Spec:
    return specs(cls)[name]


def _kind(hint) -> tuple[type, bool]:
    args = typing.get_args(hint)
    optional = type(None) in args
    if args and typing.get_origin(hint) is not tuple:
        hint = next(a for a in args if a is not type(None))
    origin = typing.get_origin(hint) or hint
    return (tuple if origin is tuple else origin), optional


def shown(value, limit: int = 40) -> str:
    """A value quoted in a message, cut short: messages may quote a megabyte a client sent."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def check(cls, field_name: str, value, *, high=None, name: str | None = None):
    """The value if the declaration allows it (whole floats become ints), else a ValueError saying why.

    `high` and `name` narrow a bound or rename the value for one caller (the Evaluate tab offers
    only as many dialogues as the test split has).
    """
    return _check(spec(cls, field_name), name, value, high, shown(value))


def parse(cls, field_name: str, raw, *, blank=REQUIRED, high=None, name: str | None = None):
    """A value as a form or an API client sends it (numbers may be text; blank may mean a default)."""
    s = spec(cls, field_name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if blank is REQUIRED:
            raise ValueError(f"Fill in the {name or s.name}.")
        return blank
    value, quoted = raw, shown(raw)
    if s.kind in (int, float) and isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"The {name or s.name} must be a number, not {shown(raw)}.") from None
        quoted = shown(raw.strip()).strip("'")  # numeric text reads as the number it is
    return _check(s, name, value, high, quoted)  # messages quote what was sent, not the float it became


def _check(s: Spec, name: str | None, value, high, quoted: str):
    name = name or s.name
    if value is None:
        if s.optional:
            return None
        raise ValueError(f"Fill in the {name}.")
    if s.kind in (int, float):
        return _check_number(s, name, value, s.high if high is None else high, quoted)
    if s.kind is str:
        if not isinstance(value, str):
            raise ValueError(f"The {name} must be text, not {quoted}.")
        if s.chars is not None and len(value) > s.chars:
            raise ValueError(f"The {name} has {len(value):,} characters; the limit is {s.chars:,}.")
    if s.kind is bool and not isinstance(value, bool):
        raise ValueError(f"The {name} must be true or false, not {quoted}.")
    if s.choices is not None and value not in s.choices:
        raise ValueError(f"The {name} must be one of {', '.join(map(str, s.choices))}, not {quoted}.")
    return value


def _check_number(s: Spec, name: str, value, high, quoted: str):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"The {name} must be a number, not {quoted}.")
    if s.kind is int:
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"The {name} must be a whole number, not {quoted}.")
        if not s.low <= value <= high:
            raise ValueError(f"The {name} must be between {s.low:,} and {high:,}, not {quoted}.")
        return int(value)
    too_low = (s.above is not None and not value > s.above) or (s.low is not None and not value >= s.low)
    if not math.isfinite(value) or too_low or (high is not None and value > high):
        raise ValueError(f"The {name} must be a number {span(s, high)}, not {quoted}.")
    return float(value)


def span(s: Spec, high=None) -> str:
    """The allowed range in words: "from 0 to 0.95", "above 0 and at most 10"."""
    high = s.high if high is None else high
    if s.above is not None:
        return f"above {s.above:g} and at most {high:g}"
    return f"from {s.low:g} to {high:g}"


def validate_fields(obj):
    """Check (and normalise: 5.0 steps become 5) every declared field of a settings instance."""
    for name in specs(type(obj)):
        setattr(obj, name, check(type(obj), name, getattr(obj, name)))
    return obj


# ------------------------------------------------------------------ command line

def flag_of(s: Spec, prefix: str = "") -> str:
    return s.flag or "--" + (f"{prefix}-" if prefix else "") + s.field.replace("_", "-")


def add_flags(parser: argparse.ArgumentParser, cls, prefix: str = "", title: str | None = None) -> None:
    """One flag per declared field (and its aliases), listed under `title` in --help.

    Every default is None, so an unset flag leaves the dataclass's (or the method's) own
    default in charge. Read them back with `flag_values`.
    """
    section = parser.add_argument_group(title) if title else parser
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for s in specs(cls).values():
        if not s.cli:
            continue
        target = section
        if s.group:
            if s.group not in groups:  # one per group name: an empty group breaks argparse's usage line
                groups[s.group] = section.add_mutually_exclusive_group()
            target = groups[s.group]
        options = {"dest": _dest(cls, s), "default": None, "help": _flag_help(s)}
        if s.kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = {int: int, float: float}.get(s.kind, str)
            options["metavar"] = s.field.upper() if s.choices is None else None
            if s.choices is not None:
                options["choices"] = s.choices
        target.add_argument(flag_of(s, prefix), *s.aliases, **options)


def flag_values(args: argparse.Namespace, cls) -> dict:
    """The fields of `cls` whose flags were given, by field name."""
    values = {}
    for s in specs(cls).values():
        value = getattr(args, _dest(cls, s), None) if s.cli else None
        if value is not None:
            values[s.field] = value
    return values


def _dest(cls, s: Spec) -> str:
    return f"{cls.__name__}.{s.field}"


def _flag_help(s: Spec) -> str:
    bits = [s.help] if s.help else []
    if s.kind in (int, float) and s.high is not None:
        bits.append(f"{s.low:,} to {s.high:,}" if s.kind is int else span(s))
    if s.default is not None and s.default != "":
        default = ",".join(s.default) if isinstance(s.default, tuple) else s.default
        bits.append(f"default {default}")
    return "; ".join(bits).replace("%", "%%")
