"""Form widgets built from the settings' declarations: label, bounds and hint come from their `setting(...)` line.

    steps = number(TrainConfig, "steps", 30)     # gr.Number labelled "Steps", 1 to 5,000, with its help
    box = setting_widget(LoraSettings, "lora_target_modules", ["q", "v"])   # the widget its kind calls for

    @positional_names("dialogue", *(f"{m}_run" for m in registry.NAMES))   # an event's inputs, named for the API
    def run(dialogue, *runs): ...
"""
from __future__ import annotations

import inspect

import gradio as gr

from studio.config.declare import spec

from .context import QUIET

# What setting_widget builds for a declared setting, by its kind.
SettingWidget = gr.Number | gr.Radio | gr.CheckboxGroup | gr.Textbox


def widget_args(cls, field: str) -> dict:
    """label, info, minimum and maximum for a widget editing `cls.field`."""
    s = spec(cls, field)
    low, high = s.bounds
    args = {"label": s.label, "info": s.info or None}
    if low is not None or s.above is not None:
        args["minimum"] = low if low is not None else s.above
    if high is not None:
        args["maximum"] = high
    return args


def number(cls, field: str, value=None, **overrides) -> gr.Number:
    """A gr.Number for a declared numeric field; whole-number fields get precision 0."""
    s = spec(cls, field)
    args = widget_args(cls, field)
    if s.kind is int:
        args["precision"] = 0
    args.update(overrides)
    return gr.Number(s.default if value is None else value, **args)


def setting_widget(cls, field: str, value=None) -> SettingWidget:
    """The widget a declared setting's kind calls for: a number box, a radio of its choices, ticks from its
    options (a tuple setting), or a text box as long as it allows."""
    s = spec(cls, field)
    if s.kind in (int, float):
        return number(cls, field, value, **({"step": s.step} if s.step is not None else {}))
    value = s.default if value is None else value
    if s.kind is tuple:
        return gr.CheckboxGroup(list(s.options or s.default), value=list(value), **widget_args(cls, field))
    if s.choices is not None:
        labels = s.choice_labels or tuple(str(c).capitalize() for c in s.choices)
        return gr.Radio(list(zip(labels, s.choices)), value=value, label=s.label, info=s.info or None)
    return gr.Textbox(value, label=s.label, info=s.info or None, max_length=s.chars)


def positional_names(*names: str):
    """Decorator: name a handler's positional inputs, as its API endpoint shows them, where the handler
    takes them as *args (a run pick per method: as many as the registry has)."""
    def name(fn):
        fn.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                              for n in names])
        return fn
    return name


def refreshed_choices(component: type, choices: list, current, wanted):
    """`component` (gr.Dropdown, gr.CheckboxGroup) with fresh choices; a value only where it must change.

    A refresh (a queue tick, a tab switch) computes from the value the page held when it was
    triggered, and on a busy server lands seconds later. Sending that value back would undo a pick
    the person made in between, so a value the refresh keeps as it was is left to the page.
    """
    if wanted == current:
        return component(choices=choices)
    return component(choices=choices, value=wanted)


def follow_runs(ctx, tab, dropdown, choices_of) -> None:
    """Keep a run dropdown fresh as runs come and go: `choices_of(studio, owner)` gives its (label, run id)
    choices, the person's own marked; a pick still there is kept, else the newest is offered.

    Raw values (preprocess=False), as in tab_compare: a pick from before the latest choices is replaced,
    not refused. Runs on each change of the store, a tab switch, page load and a restored owner token.
    """
    def refresh(owner, current):
        choices = choices_of(ctx.studio, owner)
        values = [v for _, v in choices]
        wanted = current if current in values else (values[0] if values else None)
        return refreshed_choices(gr.Dropdown, choices, current, wanted)

    for trigger in (ctx.runs_version.change, tab.select, ctx.demo.load, ctx.owner.change):
        trigger(refresh, [ctx.owner, dropdown], dropdown, preprocess=False, **QUIET)
