from pathlib import Path

import pytest

import studio.config as config
from studio.config import LoraSettings, Settings, TrainConfig, method_settings


def test_environment_sets_and_flags_win():
    env = {"STUDIO_BASE_MODEL": "env/model", "STUDIO_DATA": "env-data", "STUDIO_RUNS_DIR": "/tmp/env-runs"}
    from_env = Settings.from_env(env=env)
    assert (from_env.base_model, from_env.data, from_env.runs_dir) == ("env/model", "env-data", Path("/tmp/env-runs"))
    assert from_env.base_model_explicit and from_env.data_explicit
    flagged = Settings.from_env(env=env, base_model="flag/model", data="bundled", runs_dir="/tmp/flag")
    assert (flagged.base_model, flagged.data, flagged.runs_dir) == ("flag/model", "bundled", Path("/tmp/flag"))


def test_defaults_without_environment(monkeypatch, tmp_path):
    monkeypatch.setattr(config, "_default_runs_dir", lambda: Path("runs"))
    s = Settings.from_env(env={})
    assert (s.base_model, s.data, s.runs_dir) == ("google/flan-t5-small", "knkarthick/dialogsum", Path("runs"))
    assert not s.base_model_explicit and s.offline is None
    assert Settings.from_env(env={"HF_HUB_OFFLINE": "1"}).offline is True


def test_runs_dir_prefers_writable_data_folder(tmp_path):
    assert config._default_runs_dir(tmp_path) == tmp_path / "runs"
    assert config._default_runs_dir(tmp_path / "missing") == Path("runs")


def test_method_defaults_differ_and_overrides_apply():
    assert method_settings("prompt").learning_rate / method_settings("lora").learning_rate >= 100
    lora = method_settings("lora", {"r": 8, "target_modules": "q, k ,v", "unknown": 1})
    assert lora == LoraSettings(r=8, target_modules=("q", "k", "v"))
    with pytest.raises(ValueError, match="Unknown method"):
        method_settings("bitfit")


@pytest.mark.parametrize("field, value", [("steps", 0), ("steps", -3), ("steps", 10**9), ("steps", 2.5),
                                          ("steps", float("nan")), ("steps", "ten"), ("batch_size", 0),
                                          ("batch_size", 10**6), ("learning_rate", -1.0),
                                          ("learning_rate", float("inf")), ("train_size", 0)])
def test_bad_training_numbers_are_refused(field, value):
    cfg = TrainConfig(**{field: value})
    with pytest.raises(ValueError):
        cfg.validate()


@pytest.mark.parametrize("overrides", [{"r": 0}, {"dropout": 1.5}, {"target_modules": ""}])
def test_bad_lora_settings_are_refused(overrides):
    with pytest.raises(ValueError):
        method_settings("lora", overrides)
