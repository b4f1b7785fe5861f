"""config/train_command.py: a training as shell words that the CLI's own parser reads back as the same training."""
import shlex

import pytest

from studio import cli
from studio.cli.training import train_config
from studio.config.declare import flag_values
from studio.config.settings import TrainConfig
from studio.config.train_command import train_args, train_command
from studio.model.methods import registry
from studio.model.methods.lora import LoraSettings


def test_defaults_are_left_out_and_what_differs_is_spelled_as_flags():
    assert train_args("lora", TrainConfig()) == ["train", "--method", "lora", "--json"]
    words = train_args("lora", TrainConfig(steps=45, learning_rate=5e-4),
                       LoraSettings(lora_r=4, lora_target_modules=("q", "wo")), name="mine")
    assert words[-1] == "--json" and "--lora-r" in words and "--lora-alpha" not in words
    args = cli.build_parser().parse_args(words)
    assert train_config(args) == TrainConfig(steps=45, learning_rate=5e-4) and args.name == "mine"
    assert registry.method_settings("lora", flag_values(args, LoraSettings)) == \
        registry.method_settings("lora", {"lora_r": 4, "lora_target_modules": ("q", "wo")})


def test_an_epoch_budget_and_precision_survive_the_round_trip():
    cfg = TrainConfig(steps=None, epochs=1.5, batch_size=2)
    line = train_command("lora", cfg, LoraSettings(lora_r=2), precision="bf16", launcher="accelerate", gpus=4)
    assert line.startswith("accelerate launch --num_processes 4 -m studio train ")
    words = shlex.split(line)
    args = cli.build_parser().parse_args(words[words.index("studio") + 1:])
    assert train_config(args) == cfg and args.precision == "bf16"


def test_a_name_with_quotes_and_spaces_stays_one_word():
    line = train_command("prompt", TrainConfig(), name="my run's r4; rm -rf /")
    words = shlex.split(line)
    assert words[words.index("--name") + 1] == "my run's r4; rm -rf /"


def test_an_unknown_launcher_or_a_bad_budget_is_refused():
    with pytest.raises(ValueError, match="launcher"):
        train_command("lora", TrainConfig(), launcher="mpirun")
    with pytest.raises(ValueError):
        train_args("lora", TrainConfig(steps=0))
