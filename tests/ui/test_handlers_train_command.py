"""studio/ui/handlers/train.py: "Copy as command", parsed back by the CLI's own parser, asks for the same training."""
import shlex

import pytest

from studio import cli
from studio.cli.training import train_config
from studio.config.declare import flag_values
from studio.model.methods import registry
from studio.ui.handlers.train import TrainForm, command_text, train_request

FORMS = [
    TrainForm(method="lora"),
    TrainForm(method="lora", steps=45, batch_size=4, train_size=300, learning_rate="5e-4", seed=7, name="my run's r4",
              lora_r=4, lora_alpha=8, lora_dropout=0.0, lora_target_modules=["q", "k", "wo"]),
    TrainForm(method="prompt", steps=60, prompt_num_virtual_tokens=12, prompt_init="random",
              prompt_init_text="Sum it up; briefly"),
    TrainForm(method="prompt", prompt_init_text="Give the gist of this chat."),
    TrainForm(method="full", steps=5000, batch_size=64, train_size=10000, learning_rate=1e-5, seed=0),
]


def parse_back(line: str):
    """The CLI's namespace for a shown line, whatever launcher it starts with."""
    words = shlex.split(line)
    return cli.build_parser().parse_args(words[words.index("studio") + 1:])


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f"{f.method}-{f.steps}")
def test_each_shown_command_parses_back_to_the_forms_config(form):
    cfg, overrides = train_request(form)
    lines = [line for line in command_text(form).splitlines() if line and not line.startswith("#")]
    assert len(lines) == 2 and lines[0].startswith("python -m studio train ")
    assert lines[1].startswith("torchrun --nproc_per_node 2 -m studio train ")
    for line in lines:
        args = parse_back(line)
        assert args.command == "train" and args.method == form.method and args.json
        assert train_config(args) == cfg
        method = registry.get(form.method)
        assert method.settings_from(flag_values(args, method.settings)) == method.settings_from(overrides)
        assert args.name == (form.name or "")


def test_a_bad_form_is_refused_with_the_forms_own_message():
    with pytest.raises(ValueError, match="target module"):
        command_text(TrainForm(method="lora", lora_target_modules=[]))
