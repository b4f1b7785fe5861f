"""What the hardware offers: the device, and whether bf16 runs natively on it.

    device = pick_device()                 # "cuda" or "cpu"
    bf16 = use_bf16("auto", device)        # the studio's precision rule, in one place
    flags = cpu_flags()                    # /proc/cpuinfo's flags, as whole words
    dtype = inference_dtype("auto")        # the weights' dtype for generation under that rule
"""
from __future__ import annotations

import torch

from studio.config.settings import PRECISIONS


def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def use_bf16(precision: str, device: str) -> bool:
    """bf16 autocast where the hardware runs it natively; never fp16 (T5 overflows to NaN)."""
    if precision == "fp32":
        return False
    if precision == "bf16":
        return True
    if device == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_fast_bf16()


def inference_dtype(precision: str):
    """bf16 weights for generation where the hardware runs bf16 natively (as the course notebooks do)."""
    if precision not in PRECISIONS:
        raise ValueError(f"Precision must be auto, fp32 or bf16, not {precision!r}.")
    return torch.bfloat16 if use_bf16(precision, pick_device()) else None


def cpu_has_fast_bf16(cpuinfo: str | None = None) -> bool:
    """AVX-512 BF16 or AMX: the CPU multiplies bf16 matrices natively (`cpuinfo`: /proc/cpuinfo's text)."""
    flags = cpu_flags(cpuinfo)
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The words of /proc/cpuinfo (or of `cpuinfo`): flags are matched whole, never as part of a longer name."""
    if cpuinfo is None:
        cpuinfo = read_cpuinfo()
    return set(cpuinfo.split())


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's name as /proc/cpuinfo gives it ("Intel(R) Xeon(R) Processor @ 2.80GHz"); "" where it has none."""
    if cpuinfo is None:
        cpuinfo = read_cpuinfo()
    return next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")


def read_cpuinfo() -> str:
    """/proc/cpuinfo's text; "" where there is none (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            return f.read()
    except OSError:
        return ""
