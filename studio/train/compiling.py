"""Whether a run compiles its training step with torch.compile, and where the compiler keeps its work.

    decision = compile_decision("auto", device="cpu", steps=30, batch_size=8)   # CompileDecision
    decision.compile, decision.reason      # False, "no measured profile for this machine: eager"
    use_compile_cache()                     # inductor's graph caches in the studio's cache folder

Compiling fuses the element-wise work between the matrix products (layer norms, softmax, the
residual adds), but its first step costs minutes on a CPU and what it saves per step depends on
the machine and on the shapes a run meets (docs/benchmark.md: on a 2-core Xeon a fixed-shape step
ran 1.33x faster compiled, a whole quick run on real, variously long dialogues 0.92x even with a warm
cache). So the rule is measured per machine, on whole runs: `python -m studio bench --only
compile-run` trains a quick run eager and compiled here and writes a profile; "auto" then compiles a
run only when its steps, at the measured saving per step (scaled by batch size and model size), earn
back the measured compile time. Without a profile for this
machine "auto" stays eager; "on" and "off" decide for themselves. The run's record says which it
got (`compiled`) and why (`compile_reason`).

Padded lengths are bucketed (multiples of PAD_BUCKET tokens) on a compiled run, so a run meets
a few shapes and the compiler recompiles for each once, not for every batch.
"""
from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from studio.config.settings import compile_cache_dir, inductor_cache_dir
from studio.model.hardware import cpu_model

PAD_BUCKET = 64            # tokens: a compiled run's padded lengths are multiples of this
PROFILE_NAME = "profile.json"
PROFILE_BATCH = 8          # the batch the benchmark measures the profile with
PROFILE_PARAMS = 76_961_152  # and the model: FLAN-T5-small's shape


@dataclass(frozen=True)
class CompileDecision:
    compile: bool
    reason: str


def machine_key() -> str:
    """What a profile is measured for: the CPU (or GPU) and the torch build."""
    import torch

    if torch.cuda.is_available():
        chip = torch.cuda.get_device_name(0)
    else:
        chip = cpu_model() or platform.processor() or platform.machine()
    return f"{chip} | {os.cpu_count()} cores | torch {torch.__version__}"


def read_profile(folder: Path | None = None) -> dict | None:
    """This machine's measured profile, or None (none measured, another machine's, or unreadable)."""
    path = (folder or compile_cache_dir()) / PROFILE_NAME
    try:
        profile = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    numbers = ("eager_step_seconds", "compiled_step_seconds", "compile_seconds")
    if not isinstance(profile, dict) or profile.get("machine") != machine_key() or \
            not all(isinstance(profile.get(k), (int, float)) and profile[k] > 0 for k in numbers):
        return None
    return profile


def write_profile(profile: dict, folder: Path | None = None) -> Path:
    folder = folder or compile_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PROFILE_NAME
    path.write_text(json.dumps({**profile, "machine": machine_key()}, indent=1))
    return path


def compile_decision(setting: str, device: str, steps: int, batch_size: int, model_params: int = PROFILE_PARAMS,
                     profile: dict | None = None) -> CompileDecision:
    """Compile this run or not: "on"/"off" as asked; "auto" by the measured profile (read when not given).

    The profile's saving per step is scaled to this run's batch and model size (a step's work grows with
    both); its compile time is taken as it is, the cost of a cold cache."""
    if setting == "on":
        return CompileDecision(True, "asked for")
    if setting == "off":
        return CompileDecision(False, "asked for eager")
    profile = profile if profile is not None else read_profile()
    if profile is None:
        return CompileDecision(False, f"no measured profile for this machine ({device}): eager")
    scale = batch_size / PROFILE_BATCH * model_params / PROFILE_PARAMS
    saving = (profile["eager_step_seconds"] - profile["compiled_step_seconds"]) * scale * steps
    cost = profile["compile_seconds"]
    if saving > cost:
        return CompileDecision(True, f"{steps} steps save about {saving:.0f} s against a {cost:.0f} s compile")
    return CompileDecision(False, f"{steps} steps would save about {max(saving, 0):.0f} s, "
                                  f"less than the {cost:.0f} s compile: eager")


def use_compile_cache() -> Path:
    """Point inductor's on-disk caches at the studio's cache folder, so a shape compiled once starts fast.

    Set, not defaulted: by now importing the Trainer has written inductor's /tmp default into the
    variable (inductor reads it on every use, so changing it still counts)."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    folder = inductor_cache_dir(default_cache_dir())
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder)
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
    return folder
