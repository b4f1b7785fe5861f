"""model/methods/ia3.py: what (IA)³ trains (counted as PEFT counts it), its settings under one name, its place
among the methods. The paths that train and use it end to end are in test_ia3_end_to_end.py."""
import pytest
from transformers import T5ForConditionalGeneration

from bench.model import build_flan_t5_small_random
from studio import cli
from studio.config.declare import flag_values
from studio.config.settings import TrainConfig
from studio.config.train_command import train_args
from studio.model.memory import FLAN_T5_SHAPES, T5Shape, training_memory
from studio.model.methods import registry
from studio.model.methods.ia3 import IA3, IA3Settings
from studio.model.methods.method import parameter_report
from studio.model.standin import tiny_t5_config

SMALL = "google/flan-t5-small"


def test_it_rescales_keys_values_and_the_feed_forward_input_as_the_paper_does():
    config = IA3.peft_config(IA3Settings())
    assert config.peft_type == "IA3" and set(config.target_modules) == {"k", "v", "wo"}
    assert set(config.feedforward_modules) == {"wo"}   # wo's input: the feed-forward's inner activations
    report = parameter_report(IA3.build(build_flan_t5_small_random(), IA3Settings()))
    assert report["trainable_params"] == 34_816 == IA3.trainable_params(FLAN_T5_SHAPES[SMALL], IA3Settings())
    assert report["total_params"] == 76_961_152 + 34_816
    assert round(100 * report["trainable_share"], 3) == 0.045    # fewer than LoRA's 0.89%


@pytest.mark.parametrize("targets", [("k", "v", "wo"), ("q", "o", "wi_0", "wi_1"), ("wo",), ("v",)])
def test_the_count_equals_what_peft_trains_for_any_targets(targets):
    config = tiny_t5_config(500)
    settings = IA3Settings(ia3_target_modules=targets)
    built = IA3.build(T5ForConditionalGeneration(config), settings)
    assert parameter_report(built)["trainable_params"] == IA3.trainable_params(T5Shape.from_config(config), settings)


def test_it_is_registered_as_an_optional_adapter_method():
    assert registry.get("ia3") is IA3 and registry.by_peft_type("IA3") is IA3
    assert "ia3" in registry.NAMES and "ia3" not in registry.DEFAULT_NAMES   # not among the default three
    assert not IA3.whole_model and not IA3.soft_prompt
    assert IA3.describe(IA3Settings()) == "rescales k, v and wo"


@pytest.mark.parametrize("targets", [(), ("k", ".*"), ("../v",)])
def test_its_target_modules_are_module_names_and_at_least_one(targets):
    with pytest.raises(ValueError, match="IA"):
        IA3Settings(ia3_target_modules=targets).validate()


def test_one_name_for_its_setting_as_flag_form_field_and_command():
    args = cli.build_parser().parse_args(["train", "--method", "ia3", "--ia3-target-modules", "k,v", "--json"])
    assert flag_values(args, IA3Settings) == {"ia3_target_modules": "k,v"}
    settings = registry.method_settings("ia3", flag_values(args, IA3Settings))
    assert settings.ia3_target_modules == ("k", "v")
    words = train_args("ia3", TrainConfig(steps=5), settings)
    assert words[:3] == ["train", "--method", "ia3"] and "--ia3-target-modules" in words
    again = cli.build_parser().parse_args(words)
    assert registry.method_settings("ia3", flag_values(again, IA3Settings)) == settings


def test_its_memory_estimate_sits_between_prompt_tuning_and_lora():
    ia3, lora = (training_memory(SMALL, m, 8) for m in ("ia3", "lora"))
    assert ia3["trainable_params"] == 34_816
    assert training_memory(SMALL, "prompt", 8)["trainable_params"] < ia3["trainable_params"] < \
        lora["trainable_params"]
    assert ia3["total_gb"] < training_memory(SMALL, "full", 8)["total_gb"]
    assert training_memory(SMALL, "ia3", 8, bf16=True)["weights_gb"] < ia3["weights_gb"]   # the frozen base in bf16
