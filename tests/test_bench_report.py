"""bench/report.py: a figure names the machine it came from, including any limit put on its vector kernels."""
from bench.report import machine


def test_machine_names_the_kernels_and_any_isa_limit(monkeypatch):
    for name in ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA"):
        monkeypatch.delenv(name, raising=False)
    plain = machine()
    assert plain["isa_limits"] == {} and plain["aten_cpu_capability"]
    assert plain["cores"] >= 1 and isinstance(plain["avx512_bf16"], bool)
    monkeypatch.setenv("MKL_ENABLE_INSTRUCTIONS", "AVX2")
    assert machine()["isa_limits"] == {"MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def test_machine_reads_the_cpu_as_the_precision_rule_does(monkeypatch):
    from studio.model import hardware

    cpuinfo = "model name\t: Test CPU\nflags\t\t: avx2 avx512_bf16x amx_bf16\n"
    monkeypatch.setattr(hardware, "read_cpuinfo", lambda: cpuinfo)
    described = machine()
    assert described["cpu"] == "Test CPU"
    assert described["avx512_bf16"] is False and described["amx"] is True   # whole flag words only
