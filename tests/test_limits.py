"""The operator's ceilings on one request: training steps and a summary's cost."""
import pytest

from studio.config.settings import Settings, TrainConfig
from studio.generate.inference import GenerationSettings
from studio.service.limits import check_generation_cost, check_step_cap
from studio.store.records import typed_record
from studio.train.training_plan import planned_steps


def test_steps_over_the_operators_ceiling_are_refused_with_the_setting_named():
    settings = Settings.from_env({"STUDIO_MAX_STEPS_PER_RUN": "100"})
    check_step_cap(settings, planned_steps(TrainConfig(steps=100), 1000))
    with pytest.raises(ValueError, match="101 steps; this studio allows at most 100 per run"):
        check_step_cap(settings, planned_steps(TrainConfig(steps=101), 1000))
    # Epochs count too: 2 epochs over 1,000 pairs in batches of 8 are 250 steps.
    assert planned_steps(TrainConfig(steps=None, epochs=2, train_size=1000, batch_size=8), 5000) == 250
    assert planned_steps(TrainConfig(steps=None, epochs=2, train_size=None, batch_size=8), 40) == 10
    with pytest.raises(ValueError, match="250 steps"):
        check_step_cap(settings, planned_steps(TrainConfig(steps=None, epochs=2, train_size=1000), 5000))


def test_a_summarys_cost_is_beams_times_tokens_times_characters():
    settings = Settings.from_env({"STUDIO_MAX_GENERATION_COST": "1000000"})
    check_generation_cost(settings, GenerationSettings(max_new_tokens=100, num_beams=4), 2500)
    with pytest.raises(ValueError, match=r"8 beams x 256 new tokens x 20,000 characters = 40,960,000; "
                                         r"this studio allows at most 1,000,000"):
        check_generation_cost(settings, GenerationSettings(max_new_tokens=256, num_beams=8), 20_000)
    # The default ceiling allows everything the form allows.
    check_generation_cost(Settings(), GenerationSettings(max_new_tokens=256, num_beams=8), 20_000)


@pytest.mark.parametrize("name, value", [("STUDIO_MAX_STEPS_PER_RUN", "0"), ("STUDIO_MAX_GENERATION_COST", "ten"),
                                         ("STUDIO_MAX_GENERATIONS_PER_CLIENT", "-1"), ("STUDIO_PROXY_HOPS", "1.5")])
def test_bad_settings_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_spaces_trusts_one_proxy_unless_told_otherwise():
    assert Settings.from_env({}).proxy_hops == 0
    assert Settings.from_env({"SPACE_ID": "me/studio"}).proxy_hops == 1
    assert Settings.from_env({"SPACE_ID": "me/studio", "STUDIO_PROXY_HOPS": "0"}).proxy_hops == 0


# ------------------------------------------------------------------ a time ceiling per run

def _measured(method="lora", steps=30, seconds=60.0, batch=8, device="cpu", base="/models/small", when="2026-01-01",
              status="completed", pulled_from=None):
    return typed_record({"method": method, "status": status, "steps": steps, "train_loop_seconds": seconds,
                         "device": device, "base_model_path": base, "hyperparameters": {"batch_size": batch},
                         "created_at": when, "pulled_from": pulled_from})


def test_the_ceiling_is_the_operators_setting_or_a_spaces_default():
    from studio.service.limits import run_ceiling_seconds

    assert run_ceiling_seconds(Settings.from_env({}), "cpu") is None              # a laptop: no ceiling unless set
    assert run_ceiling_seconds(Settings.from_env({"SPACE_ID": "me/studio"}), "cpu") == 180
    assert run_ceiling_seconds(Settings.from_env({"SPACE_ID": "me/studio"}), "cuda") == 900
    assert run_ceiling_seconds(Settings.from_env({"SPACE_ID": "me/s", "STUDIO_MAX_RUN_SECONDS": "0"}), "cpu") is None
    assert run_ceiling_seconds(Settings.from_env({"STUDIO_MAX_RUN_SECONDS": "45"}), "cuda") == 45
    with pytest.raises(ValueError, match="STUDIO_MAX_RUN_SECONDS"):
        Settings.from_env({"STUDIO_MAX_RUN_SECONDS": "soon"})


def test_the_estimate_follows_the_runs_measured_on_this_machine():
    from studio.service.limits import run_time_estimate

    records = [_measured(seconds=48.0, when="2026-01-02"),                   # 0.2 s per row
               _measured(seconds=96.0, when="2026-01-01"),                   # 0.4 s per row: older, still counted
               _measured(seconds=999.0, device="cuda"),                      # another device: not this machine
               _measured(seconds=999.0, base="/models/large"),               # another base model
               _measured(seconds=999.0, status="failed")]             # no finished loop to learn from
    estimate = run_time_estimate(records, "lora", 200, 4, "/models/small", "cpu", total_params=None)
    assert estimate["measured_runs"] == 2
    assert estimate["step_seconds"] == pytest.approx(0.3 * 4)                # the median per row, times the batch
    assert estimate["seconds"] == pytest.approx(200 * 0.3 * 4)
    # Another method's runs stand in when this method was never measured here.
    assert run_time_estimate(records, "full", 10, 8, "/models/small", "cpu", None)["measured_runs"] == 2
    # Nothing measured: a prior from the model's size; nothing known at all: no estimate (and no refusal).
    prior = run_time_estimate([], "lora", 30, 8, "/models/small", "cpu", total_params=77_000_000)
    assert prior["measured_runs"] == 0 and 60 < prior["seconds"] < 240      # FLAN-T5-small's quick run on a CPU
    assert run_time_estimate([], "lora", 30, 8, "/models/small", "cpu", total_params=None) is None


def test_a_run_estimated_over_the_ceiling_is_refused_with_what_would_fit():
    from studio.service.limits import check_run_time, run_time_estimate

    settings = Settings.from_env({"STUDIO_MAX_RUN_SECONDS": "180"})
    records = [_measured(seconds=0.45 * 8 * 30)]                              # 3.6 s per step of 8 rows
    check_run_time(settings, run_time_estimate(records, "lora", 50, 8, "/models/small", "cpu", None), "cpu")
    long_run = run_time_estimate(records, "lora", 200, 8, "/models/small", "cpu", None)
    with pytest.raises(ValueError) as refused:
        check_run_time(settings, long_run, "cpu")
    message = str(refused.value)
    assert "about 12 min here" in message and "this room allows 3 min per run" in message
    assert "measured on this machine over 1 earlier run" in message
    assert "at most 50 steps" in message and "not queued" in message
    check_run_time(Settings.from_env({}), long_run, "cpu")                    # no ceiling set: not refused


def test_imported_runs_timings_never_set_the_estimate():
    """An imported run's run.json says whatever its uploader wrote: three forged ones, newest of all, once made
    every training here (even of one step) "take 2777 h"; a tiny figure would lift the ceiling instead."""
    from studio.service.limits import run_time_estimate

    mine = _measured(seconds=0.45 * 8 * 30, when="2026-01-01")
    forged = [_measured(seconds=1e7, steps=1, batch=1, when=f"2026-02-0{i}", pulled_from="uploaded files")
              for i in range(1, 4)]
    estimate = run_time_estimate([mine, *forged], "lora", 30, 8, "/models/small", "cpu", None)
    assert estimate["measured_runs"] == 1 and estimate["step_seconds"] == pytest.approx(3.6)
    tiny = [_measured(seconds=1e-6, when="2026-02-01", pulled_from="someone/repo")]
    assert run_time_estimate(tiny, "lora", 30, 8, "/models/small", "cpu", total_params=77_000_000)["measured_runs"] == 0


def test_when_even_one_step_is_over_the_ceiling_the_advice_is_a_smaller_batch():
    from studio.service.limits import check_run_time, run_time_estimate

    settings = Settings.from_env({"STUDIO_MAX_RUN_SECONDS": "10"})
    slow = [_measured(seconds=2.0 * 8 * 30)]                                  # 16 s per step of 8 rows
    with pytest.raises(ValueError) as refused:
        check_run_time(settings, run_time_estimate(slow, "lora", 5, 8, "/models/small", "cpu", None), "cpu")
    assert "Even one step of this batch would take longer: ask for a smaller batch." in str(refused.value)
    assert "at most" not in str(refused.value)
    with pytest.raises(ValueError, match=r"at most 1 step, or"):               # one step fits: "1 step", not "1 steps"
        check_run_time(settings, run_time_estimate(slow, "lora", 5, 4, "/models/small", "cpu", None), "cpu")
