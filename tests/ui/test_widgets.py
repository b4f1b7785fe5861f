"""studio/ui/widgets.py: a form widget's label, bounds and hint come from the field's declaration."""
import gradio as gr

from studio.config.declare import spec
from studio.config.settings import TrainConfig
from studio.model.methods.lora import LoraSettings
from studio.ui.widgets import number, widget_args


def test_bounds_label_and_hint_are_the_declarations():
    declared = spec(TrainConfig, "steps")
    args = widget_args(TrainConfig, "steps")
    assert args == {"label": declared.label, "info": declared.info or None, "minimum": declared.bounds[0],
                    "maximum": declared.bounds[1]}
    assert args["maximum"] == 5000


def test_a_whole_number_field_takes_no_decimals_and_overrides_win():
    steps = number(TrainConfig, "steps")
    assert isinstance(steps, gr.Number) and steps.precision == 0 and steps.value == spec(TrainConfig, "steps").default
    rank = number(LoraSettings, "lora_r", 16, label="Rank")
    assert rank.value == 16 and rank.label == "Rank" and rank.maximum == spec(LoraSettings, "lora_r").bounds[1]
    rate = number(TrainConfig, "learning_rate", 0.001)
    assert rate.precision is None
