"""model/methods/lora.py: LoRA's count on FLAN-T5-small's real architecture, its settings and its adapter."""
import pytest

from bench.model import build_flan_t5_small_random
from studio.model.memory import FLAN_T5_SHAPES
from studio.model.methods.lora import LORA, LoraSettings
from studio.model.methods.method import parameter_report


def test_lora_r16_on_q_v_matches_design_figures():
    report = parameter_report(LORA.build(build_flan_t5_small_random(), LoraSettings()))
    assert (report["trainable_params"], report["total_params"]) == (688_128, 77_649_280)
    assert round(100 * report["trainable_share"], 2) == 0.89
    assert LORA.trainable_params(FLAN_T5_SHAPES["google/flan-t5-small"], LoraSettings()) == 688_128


def test_its_config_follows_its_settings_and_only_the_adapter_is_saved():
    config = LORA.peft_config(LoraSettings(lora_r=4, lora_alpha=8, lora_target_modules=("q", "wo")))
    assert (config.r, config.lora_alpha, sorted(config.target_modules)) == (4, 8, ["q", "wo"])
    assert LORA.peft_type == "LORA" and not LORA.whole_model
    assert LORA.describe(LoraSettings()) == "rank 16 on q, v"


@pytest.mark.parametrize("targets", [(), ("q", ".*"), ("q", "../v")])
def test_target_modules_are_module_names_only(targets):
    with pytest.raises(ValueError, match="target module"):
        LoraSettings(lora_target_modules=targets).validate()
