"""What the benchmark ran on, and its results as a summary and a console table.

    results["machine"] = machine()
    results["summary"] = summarize_results(results); print(format_table(results))
"""
from __future__ import annotations

import os
import platform

ISA_LIMITS = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")


def machine() -> dict:
    import torch

    from studio.model.hardware import cpu_flags, cpu_model, read_cpuinfo

    cpuinfo = read_cpuinfo()
    flags = cpu_flags(cpuinfo)
    return {"cpu": cpu_model(cpuinfo) or platform.processor(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "avx512_bf16": "avx512_bf16" in flags, "amx": "amx_bf16" in flags,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "python": platform.python_version(), "torch": torch.__version__,
            # The vector kernels torch's own ops use: ATEN_CPU_CAPABILITY=avx2 (with MKL_ENABLE_INSTRUCTIONS
            # and ONEDNN_MAX_CPU_ISA) makes an AVX-512 machine stand in for an AVX2-only one.
            "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "isa_limits": {name: os.environ[name] for name in ISA_LIMITS if name in os.environ}}


def summarize_results(results: dict) -> dict:
    by = {(r["method"], r["recipe"]): r for r in results["training"]}
    summary = {}
    for method in ("full", "lora", "prompt"):
        course, studio, fp32 = by[(method, "course")], by[(method, "studio")], by[(method, "studio-fp32")]
        summary[method] = {"speedup": studio["samples_per_second"] / course["samples_per_second"],
                           "loss_vs_fp32": studio["final_loss"] / fp32["final_loss"] - 1}
    ev = results["evaluation"]
    summary["evaluation_speedup"] = ev["studio"]["dialogues_per_second"] / ev["course"]["dialogues_per_second"]
    summary["rouge_difference_points"] = {m: 100 * (ev["studio"][m] - ev["course"][m])
                                          for m in ("rouge1", "rouge2", "rougeL")}
    summary["memory_ratio"] = results["memory"]["ratio_models"]
    summary["startup_seconds"] = results["startup"].get("seconds_to_page")
    return summary


def format_table(results: dict) -> str:
    lines = [f"{'method':<8}{'recipe':<40}{'samples/s':>10}{'s/step':>9}{'loss(last 3)':>14}"]
    for r in results["training"] + results["ablation"]:
        lines.append(f"{r['method']:<8}{r['recipe']:<40}{r['samples_per_second']:>10.2f}"
                     f"{r['seconds_per_step']:>9.2f}{r['final_loss']:>14.4f}")
    s = results["summary"]
    for method in ("full", "lora", "prompt"):
        lines.append(f"{method}: studio/course speed {s[method]['speedup']:.1f}x, "
                     f"loss vs fp32 {100 * s[method]['loss_vs_fp32']:+.1f}%")
    ev = results["evaluation"]
    lines.append(f"evaluation: course {ev['course']['dialogues_per_second']:.2f}/s, studio "
                 f"{ev['studio']['dialogues_per_second']:.2f}/s ({s['evaluation_speedup']:.1f}x); ROUGE-L "
                 f"{100 * ev['course']['rougeL']:.2f} vs {100 * ev['studio']['rougeL']:.2f}; "
                 f"{ev['identical_summaries']} of {ev['dialogues']} summaries identical")
    for step in results.get("evaluation_ablation", []):
        lines.append(f"  evaluation {step['step']:<48}{step['dialogues_per_second']:>6.2f} dialogues/s")
    lines.append(f"memory: four models / one model = {s['memory_ratio']:.2f}x")
    lines.append(f"start-up: {s['startup_seconds']}")
    return "\n".join(lines)
