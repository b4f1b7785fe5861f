"""studio/model/hardware.py: the precision rule picks bf16 only where the hardware runs it natively."""
import pytest
import torch

from studio.model import hardware

# Trimmed /proc/cpuinfo flag lines of the two kinds of 2-core machine the studio has run on.
AVX512_BF16_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
AVX2_ONLY_CPU = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512_bf16x\n"   # a look-alike word is no flag
AMX_CPU = "flags\t\t: avx2 avx512f amx_tile amx_bf16 amx_int8\n"


def test_the_cpu_flags_decide_native_bf16():
    assert hardware.cpu_has_fast_bf16(AVX512_BF16_CPU) is True
    assert hardware.cpu_has_fast_bf16(AMX_CPU) is True
    assert hardware.cpu_has_fast_bf16(AVX2_ONLY_CPU) is False
    assert hardware.cpu_has_fast_bf16("") is False


@pytest.mark.parametrize("cpuinfo,auto", [(AVX512_BF16_CPU, True), (AVX2_ONLY_CPU, False)])
def test_auto_follows_the_cpu_and_a_setting_overrides_it(monkeypatch, cpuinfo, auto):
    read_flags = hardware.cpu_has_fast_bf16
    monkeypatch.setattr(hardware, "cpu_has_fast_bf16", lambda: read_flags(cpuinfo))   # this machine, as that one
    assert hardware.use_bf16("auto", "cpu") is auto
    assert hardware.use_bf16("fp32", "cpu") is False and hardware.use_bf16("bf16", "cpu") is True
    monkeypatch.setattr(hardware, "pick_device", lambda: "cpu")
    assert hardware.inference_dtype("auto") == (torch.bfloat16 if auto else None)
    assert hardware.inference_dtype("fp32") is None


@pytest.mark.parametrize("supported", [True, False])
def test_on_cuda_auto_asks_the_gpu(monkeypatch, supported):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: supported)
    monkeypatch.setattr(hardware, "cpu_has_fast_bf16", lambda: not supported)   # the CPU must not decide
    assert hardware.use_bf16("auto", "cuda") is supported
    assert hardware.use_bf16("fp32", "cuda") is False


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="auto, fp32 or bf16"):
        hardware.inference_dtype("fp16")
