"""The operator's ceilings on one request: training steps and a summary's cost."""
import pytest

from studio.budgets import check_generation_budget, check_training_budget, planned_steps
from studio.config import Settings, TrainConfig
from studio.inference import GenerationSettings


def test_steps_over_the_operators_ceiling_are_refused_with_the_setting_named():
    settings = Settings.from_env({"STUDIO_MAX_STEPS_PER_RUN": "100"})
    check_training_budget(settings, TrainConfig(steps=100), 1000)
    with pytest.raises(ValueError, match="101 steps; this studio allows at most 100 per run"):
        check_training_budget(settings, TrainConfig(steps=101), 1000)
    # Epochs count too: 2 epochs over 1,000 pairs in batches of 8 are 250 steps.
    assert planned_steps(TrainConfig(steps=None, epochs=2, train_size=1000, batch_size=8), 5000) == 250
    assert planned_steps(TrainConfig(steps=None, epochs=2, train_size=None, batch_size=8), 40) == 10
    with pytest.raises(ValueError, match="250 steps"):
        check_training_budget(settings, TrainConfig(steps=None, epochs=2, train_size=1000), 5000)


def test_a_summarys_cost_is_beams_times_tokens_times_characters():
    settings = Settings.from_env({"STUDIO_MAX_GENERATION_COST": "1000000"})
    check_generation_budget(settings, GenerationSettings(max_new_tokens=100, num_beams=4), 2500)
    with pytest.raises(ValueError, match=r"8 beams x 256 new tokens x 20,000 characters = 40,960,000; "
                                         r"this studio allows at most 1,000,000"):
        check_generation_budget(settings, GenerationSettings(max_new_tokens=256, num_beams=8), 20_000)
    # The default ceiling allows everything the form allows.
    check_generation_budget(Settings(), GenerationSettings(max_new_tokens=256, num_beams=8), 20_000)


@pytest.mark.parametrize("name, value", [("STUDIO_MAX_STEPS_PER_RUN", "0"), ("STUDIO_MAX_GENERATION_COST", "ten"),
                                         ("STUDIO_MAX_GENERATIONS_PER_CLIENT", "-1"), ("STUDIO_PROXY_HOPS", "1.5")])
def test_bad_settings_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_spaces_trusts_one_proxy_unless_told_otherwise():
    assert Settings.from_env({}).proxy_hops == 0
    assert Settings.from_env({"SPACE_ID": "me/studio"}).proxy_hops == 1
    assert Settings.from_env({"SPACE_ID": "me/studio", "STUDIO_PROXY_HOPS": "0"}).proxy_hops == 0
