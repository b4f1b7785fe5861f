import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio import cli
from studio.cli.evaluation import generation_settings
from studio.cli.training import train_config
from studio.config import settings as config
from studio.config.declare import add_flags, check, flag_values, parse, setting, spec
from studio.config.settings import GenerationSettings, Settings, TrainConfig
from studio.model.methods import registry
from studio.model.methods.lora import LoraSettings
from studio.model.methods.prompt_tuning import PromptSettings


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


def test_the_process_switches_are_read_here_as_their_libraries_read_them():
    assert config.hub_offline({"HF_HUB_OFFLINE": " True "}) and not config.hub_offline({"HF_HUB_OFFLINE": "0"})
    assert config.hub_endpoint({}) == "https://huggingface.co"
    assert config.hub_endpoint({"HF_ENDPOINT": "https://mirror.example/"}) == "https://mirror.example"
    assert config.on_zerogpu({"SPACES_ZERO_GPU": "t"}) and not config.on_zerogpu({})


def test_a_zerogpu_calls_time_is_a_setting_refused_by_name_when_bad():
    assert Settings.from_env(env={}).zerogpu_max_seconds == 120
    assert Settings.from_env(env={"STUDIO_ZEROGPU_MAX_SECONDS": "300"}).zerogpu_max_seconds == 300
    with pytest.raises(ValueError, match="STUDIO_ZEROGPU_MAX_SECONDS"):
        Settings.from_env(env={"STUDIO_ZEROGPU_MAX_SECONDS": "0"})


def test_method_defaults_differ_and_overrides_apply():
    assert registry.get("prompt").learning_rate / registry.get("lora").learning_rate >= 100
    lora = registry.method_settings("lora", {"lora_r": 8, "lora_target_modules": "q, k ,v", "unknown": 1})
    assert lora == LoraSettings(lora_r=8, lora_target_modules=("q", "k", "v"))
    with pytest.raises(ValueError, match="Unknown method"):
        registry.method_settings("bitfit")


@pytest.mark.parametrize("field, value", [("steps", 0), ("steps", -3), ("steps", 10**9), ("steps", 2.5),
                                          ("steps", float("nan")), ("steps", "ten"), ("batch_size", 0),
                                          ("batch_size", 10**6), ("learning_rate", -1.0),
                                          ("learning_rate", float("inf")), ("train_size", 0)])
def test_bad_training_numbers_are_refused(field, value):
    cfg = TrainConfig(**{field: value})
    with pytest.raises(ValueError):
        cfg.validate()


@pytest.mark.parametrize("overrides", [{"lora_r": 0}, {"lora_dropout": 1.5}, {"lora_target_modules": ""}])
def test_bad_lora_settings_are_refused(overrides):
    with pytest.raises(ValueError):
        registry.method_settings("lora", overrides)


# ------------------------------------------------------------------ settings declared once

def test_every_old_train_flag_still_parses_to_its_field():
    args = cli.build_parser().parse_args([
        "train", "--method", "lora", "--lr", "0.01", "--lora-r", "4", "--lora-alpha", "8", "--lora-dropout", "0.1",
        "--lora-targets", "q,k", "--virtual-tokens", "7", "--prompt-init", "random", "--steps", "9",
        "--batch-size", "2", "--train-size", "30", "--seed", "3", "--precision", "fp32", "--name", "x"])
    assert flag_values(args, TrainConfig) == {"learning_rate": 0.01, "steps": 9, "batch_size": 2, "train_size": 30,
                                              "seed": 3}
    assert flag_values(args, LoraSettings) == {"lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.1,
                                               "lora_target_modules": "q,k"}
    assert flag_values(args, PromptSettings) == {"prompt_num_virtual_tokens": 7, "prompt_init": "random"}
    assert (args.precision, args.name) == ("fp32", "x")
    epochs = cli.build_parser().parse_args(["train", "--method", "full", "--epochs", "1.5"])
    assert train_config(epochs).epochs == 1.5 and train_config(epochs).steps is None


def test_fields_without_a_flag_before_now_have_one():
    args = cli.build_parser().parse_args([
        "train", "--method", "prompt", "--weight-decay", "0.01", "--dropout", "0.2", "--max-source-tokens", "256",
        "--max-target-tokens", "64", "--prompt-init-text", "Sum it up.", "--lora-target-modules", "q"])
    assert train_config(args) == TrainConfig(weight_decay=0.01, dropout=0.2, max_source_tokens=256,
                                             max_target_tokens=64)
    assert flag_values(args, PromptSettings) == {"prompt_init_text": "Sum it up."}
    summarize = cli.build_parser().parse_args(["summarize", "--model", "original", "--text", "hi", "--beams", "3"])
    assert generation_settings(summarize) == GenerationSettings(num_beams=3)


def test_steps_and_epochs_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--method", "lora", "--steps", "3", "--epochs", "1"])
    assert "not allowed with" in capsys.readouterr().err


@pytest.mark.parametrize("field, value", [("steps", 0), ("steps", 5001), ("batch_size", 65), ("seed", -1),
                                          ("learning_rate", 0), ("dropout", 0.99), ("weight_decay", 2)])
def test_cli_and_form_refuse_the_same_values_with_the_same_message(field, value):
    """The CLI path (flags -> TrainConfig.validate) and the UI path (parse) share one declaration."""
    flag = "--" + field.replace("_", "-")
    args = cli.build_parser().parse_args(["train", "--method", "lora", flag, str(value)])
    with pytest.raises(ValueError) as from_cli:
        train_config(args)
    with pytest.raises(ValueError) as from_form:
        parse(TrainConfig, field, str(value), blank=None)
    def rule(exc):
        return str(exc.value).rsplit(", not ", 1)[0]
    assert rule(from_cli) == rule(from_form) and field.replace("_", " ") in str(from_cli.value)
    s = spec(TrainConfig, field)
    edge = s.high if s.high is not None else s.low
    assert check(TrainConfig, field, edge) == edge  # the bound itself is allowed, on both paths


def test_messages_name_the_setting_and_its_range():
    with pytest.raises(ValueError, match=r"^The number of steps must be between 1 and 5,000, not 0\.$"):
        TrainConfig(steps=0).validate()
    with pytest.raises(ValueError, match="LoRA rank must be between 1 and 512"):
        registry.method_settings("lora", {"lora_r": 513})
    with pytest.raises(ValueError, match="number of beams must be between 1 and 8"):
        GenerationSettings(num_beams=9).validate()


def test_a_new_field_is_one_line_and_gets_its_flag_and_checks():
    @dataclass
    class Extra:
        warmup_steps: int = setting(0, "steps of linear warm-up", low=0, high=1000, aliases=("--warmup",))

    parser = argparse.ArgumentParser()
    add_flags(parser, Extra)
    assert flag_values(parser.parse_args(["--warmup-steps", "5"]), Extra) == {"warmup_steps": 5}
    assert flag_values(parser.parse_args(["--warmup", "6"]), Extra) == {"warmup_steps": 6}
    assert "0 to 1,000" in parser.format_help()
    with pytest.raises(ValueError, match="warmup steps must be between 0 and 1,000"):
        check(Extra, "warmup_steps", 1001)
