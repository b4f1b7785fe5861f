"""model/methods/method.py: what every method declares, reading overrides into settings, the parameter report."""
import pytest
import torch

from studio.model.methods import registry
from studio.model.methods.method import parameter_report


def test_every_method_declares_what_the_studio_reads():
    for method in registry.METHODS:
        assert method.name and method.label and method.help and method.learning_rate > 0 and method.color
        assert method.hub_tag and callable(method.settings().validate)
        assert isinstance(method.describe(method.settings_from()), str)
        # One name per setting: a method's fields carry its prefix, so no two settings share a name.
        for name in (f.name for f in method.settings.__dataclass_fields__.values()):
            assert method.whole_model or name.startswith(f"{method.name}_"), (method, name)


def test_overrides_become_checked_settings_and_unknown_keys_are_left_out():
    lora = registry.get("lora").settings_from({"lora_r": 8, "lora_target_modules": "q, k ,v", "unknown": 1,
                                                "lora_alpha": None})
    assert (lora.lora_r, lora.lora_alpha, lora.lora_target_modules) == (8, 32, ("q", "k", "v"))
    with pytest.raises(ValueError, match="LoRA rank must be between 1 and 512"):
        registry.get("lora").settings_from({"lora_r": 0})


def test_the_parameter_report_counts_trainable_and_all():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    model[1].requires_grad_(False)
    assert parameter_report(model) == {"trainable_params": 15, "total_params": 23, "trainable_share": 15 / 23}


def test_a_setting_named_as_before_it_had_its_methods_prefix_still_reads():
    """Scripts and experiment records said {"r": 8}; the one name now is lora_r, and the old one maps to it."""
    lora = registry.get("lora")
    assert lora.settings_from({"r": 8, "target_modules": "q,k"}) == lora.settings_from(
        {"lora_r": 8, "lora_target_modules": ("q", "k")})
    assert lora.settings_from({"r": 8, "lora_r": 4}).lora_r == 4     # the name as declared wins
    with pytest.raises(ValueError, match="LoRA rank"):
        lora.settings_from({"r": 0})
