"""The Train tab's "Copy as command": the CLI line that repeats the form's training, on one machine or several GPUs."""
from __future__ import annotations

from studio.config.train_command import train_command
from studio.model.methods import registry

from .common import text
from .train import TrainForm, train_request


def command_text(form: TrainForm, gpus: int = 2) -> str:
    """Shell lines for the form as it stands: plain, then with torchrun (raises ValueError on a bad form)."""
    cfg, overrides = train_request(form)
    settings = registry.method_settings(form.method, overrides)
    name = text("run name", form.name, 1000)[:80]
    single = train_command(form.method, cfg, settings, name=name)
    several = train_command(form.method, cfg, settings, name=name, launcher="torchrun", gpus=gpus)
    return (f"# this machine (CPU or one GPU)\n{single}\n\n"
            f"# {gpus} GPUs on one machine (DDP; the batch size is per GPU)\n{several}\n")
