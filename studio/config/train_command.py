"""The `python -m studio train ...` command that repeats a training request, built from the declared flags.

    train_command("lora", TrainConfig(steps=30), LoraSettings(lora_r=8))
    # 'python -m studio train --method lora --steps 30 --lora-r 8'
    train_command("lora", cfg, settings, launcher="torchrun")
    # 'torchrun --nproc_per_node 2 -m studio train --method lora ...'

Every flag comes from the settings' declarations (declare.flag_of), the same ones the
CLI's parser is built from, so the command stays true when a setting changes; values
equal to the declared default are left out to keep it short. The Train tab shows it
("Copy as command") so a run can be taken to a bigger machine. `settings` is the method's
own settings object (model/methods/registry.method_settings builds it): this layer cannot
look methods up, and needs nothing of them but that object's declared fields.
"""
from __future__ import annotations

import shlex

from studio.config.declare import flag_of, specs
from studio.config.settings import TrainConfig

LAUNCHERS = {
    "python": "python -m studio",
    "torchrun": "torchrun --nproc_per_node {gpus} -m studio",
    "accelerate": "accelerate launch --num_processes {gpus} -m studio",
}


def _flag_value(value) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _flags(cls, values) -> list[str]:
    out = []
    for s in specs(cls).values():
        value = getattr(values, s.field)
        if not s.cli or value is None or value == s.default:
            continue
        if isinstance(s.default, tuple) and tuple(value) == s.default:
            continue
        out += [flag_of(s), _flag_value(value)]
    return out


def train_args(method: str, cfg: TrainConfig, settings=None, name: str = "", precision: str = "auto") -> list[str]:
    """The arguments after `python -m studio`, one list item per shell word; `settings`: the method's (checked)."""
    cfg.validate()
    # An epoch budget has steps None, which is left out: the CLI drops its default steps when --epochs comes.
    args = ["train", "--method", method, *_flags(TrainConfig, cfg)]
    if settings is not None:
        args += _flags(type(settings), settings.validate())
    if name:
        args += ["--name", name]
    if precision != "auto":
        args += ["--precision", precision]
    return [*args, "--json"]


def train_command(method: str, cfg: TrainConfig, settings=None, name: str = "", precision: str = "auto",
                  launcher: str = "python", gpus: int = 2) -> str:
    """One line a shell runs as is (quoted where needed)."""
    if launcher not in LAUNCHERS:
        raise ValueError(f"Unknown launcher {launcher!r}: choose {', '.join(LAUNCHERS)}.")
    prefix = LAUNCHERS[launcher].format(gpus=gpus)
    return prefix + " " + " ".join(shlex.quote(a) for a in train_args(method, cfg, settings, name, precision))
