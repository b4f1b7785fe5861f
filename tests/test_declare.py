"""Settings declared once: parsing what a person typed against a field's declaration."""
import pytest

from studio.config.declare import parse
from studio.config.settings import TrainConfig


@pytest.mark.parametrize("bad", [None, "", "abc", float("nan"), float("inf"), 1.5, True, 0, 6000])
def test_declared_whole_numbers_reject_bad_values(bad):
    with pytest.raises(ValueError):
        parse(TrainConfig, "steps", bad)


def test_declared_whole_numbers_accept_whole_floats_and_text():
    assert parse(TrainConfig, "steps", 5.0) == 5
    assert parse(TrainConfig, "steps", "7") == 7


def test_declared_fractions_blank_means_default_and_bad_values_are_refused():
    assert parse(TrainConfig, "learning_rate", "", blank=None) is None
    assert parse(TrainConfig, "learning_rate", None, blank=None) is None
    assert parse(TrainConfig, "learning_rate", " 0.01 ".strip(), blank=None) == 0.01
    for bad in ("fast", "nan", -1, 11):
        with pytest.raises(ValueError):
            parse(TrainConfig, "learning_rate", bad, blank=None)


def test_text_numbers_read_as_the_number_they_are_and_messages_say_what_is_wrong():
    """The rules a form's or API client's text meets, each with its own message. These are why no library
    checks the values (see declare.py's docstring): pydantic's lax mode takes True as 1, cannot tell "8.5"
    from "abc" for a whole number, and refuses "1e2"; its strict mode refuses the 5.0 a number box sends."""
    assert parse(TrainConfig, "steps", "1e2") == 100
    assert parse(TrainConfig, "steps", " 8 ") == 8
    with pytest.raises(ValueError, match=r"^The number of steps must be a whole number, not 8.5\.$"):
        parse(TrainConfig, "steps", "8.5")
    with pytest.raises(ValueError, match=r"^The number of steps must be a number, not 'abc'\.$"):
        parse(TrainConfig, "steps", "abc")
    with pytest.raises(ValueError, match=r"^The number of steps must be a number, not True\.$"):
        parse(TrainConfig, "steps", True)
    with pytest.raises(ValueError, match=r"^The number of steps must be between 1 and 5,000, not 0\.$"):
        parse(TrainConfig, "steps", "0")


def test_what_a_setting_declares_for_blanks_steps_and_labels_reaches_its_spec():
    """`setting(blank=..., step=..., choice_labels=...)` once lost all three (only the rest went into the
    field's metadata): a blank LoRA dropout or prompt text was refused as missing, the dropout box stepped by
    1 and the prompt start read "Text" instead of "From text"."""
    from studio.config.declare import REQUIRED, spec
    from studio.model.methods.lora import LoraSettings
    from studio.model.methods.prompt_tuning import PROMPT_INIT_TEXT, PromptSettings

    dropout = spec(LoraSettings, "lora_dropout")
    assert dropout.blank == 0.0 and dropout.step == 0.05
    init = spec(PromptSettings, "prompt_init")
    assert init.blank == "text" and init.choice_labels == ("From text", "Random")
    assert spec(PromptSettings, "prompt_init_text").blank == PROMPT_INIT_TEXT
    assert spec(LoraSettings, "lora_r").blank is REQUIRED            # undeclared: a blank rank is refused


def test_blank_form_values_take_the_declared_meaning():
    from studio.ui.handlers.train import TrainForm, train_request

    _, overrides = train_request(TrainForm(method="lora", steps=3, lora_dropout=""))
    assert overrides["lora_dropout"] == 0.0                            # blank dropout: none
    _, overrides = train_request(TrainForm(method="prompt", steps=3, prompt_init="", prompt_init_text=""))
    assert "prompt_init" not in overrides and "prompt_init_text" not in overrides   # the defaults
    with pytest.raises(ValueError, match="LoRA rank"):
        train_request(TrainForm(method="lora", steps=3, lora_r=""))
