"""Benchmark: the studio's training and evaluation against the course notebooks' recipe, side by side.

    python -m studio bench                 # full run, ~15 min on 2 CPU cores
    python -m studio bench --quick         # a smoke run, ~3 min
    python -m studio bench --json --out bench/results/latest.json

Everything is measured in this one run, on the same model, data and batch size:
1. training samples/s for full, LoRA and prompt tuning, course recipe vs studio
   recipe, plus the studio's loss against an fp32 run of its own recipe, and an
   ablation (full fine-tuning) that shows which change bought what;
2. evaluation dialogues/s: the course's one-at-a-time loop vs the studio's pool,
   with the same generation budget, and the ROUGE each gets;
3. resident memory of the model pool with four models against one model;
4. seconds from `python app.py` to a served page, offline.

The model is FLAN-T5-small when it is cached, otherwise a model with its exact
architecture (76,961,152 parameters) and random weights, with the stand-in
tokenizer: speed and memory depend on the shapes, not on the weight values.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import torch

from .config import DEFAULT_BASE_MODEL, Settings, TrainConfig, method_settings
from .data import load_bundled, make_prompt
from .engine import inference_dtype

ROOT = Path(__file__).resolve().parent.parent
BATCH_SIZE = 8
COURSE_MAX_LENGTH = 512          # the course pads every input and label to the tokenizer's 512
COURSE_MAX_NEW_TOKENS = 200      # the course's generation budget, used by both loops for a fair race


# --------------------------------------------------------------------------- the model under test

def bench_model(cache_dir: Path) -> tuple[str, bool]:
    """(model path, is the real FLAN-T5-small)."""
    from .offline import STANDIN_NAME, build_flan_t5_small_random, build_standin, is_cached

    if is_cached(DEFAULT_BASE_MODEL):
        return DEFAULT_BASE_MODEL, True
    folder = cache_dir / "flan-t5-small-architecture-random-v1"
    if not (folder / "model.safetensors").exists():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(build_standin(cache_dir / STANDIN_NAME)))
        model = build_flan_t5_small_random(seed=0)
        model.generation_config.max_new_tokens = 64
        tmp = Path(tempfile.mkdtemp(dir=cache_dir))
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, folder)
    return str(folder), False


# --------------------------------------------------------------------------- training

class StepClock:
    """Trainer callback: wall time at the end of every optimizer step, and the logged losses."""

    def __new__(cls):
        from transformers import TrainerCallback

        class _Clock(TrainerCallback):
            def __init__(self):
                self.times, self.losses = [], []

            def on_step_end(self, args, state, control, **kwargs):
                self.times.append(time.perf_counter())

            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs and "loss" in logs:
                    self.losses.append(float(logs["loss"]))

        return _Clock()


def _course_dataset(tokenizer, pairs):
    """The notebooks' tokenization: everything padded to 512, pad ids left in the labels."""
    from datasets import Dataset

    src = tokenizer([p for p, _ in pairs], padding="max_length", truncation=True, max_length=COURSE_MAX_LENGTH)
    tgt = tokenizer([s for _, s in pairs], padding="max_length", truncation=True, max_length=COURSE_MAX_LENGTH)
    return Dataset.from_dict({"input_ids": src["input_ids"], "attention_mask": src["attention_mask"],
                              "labels": tgt["input_ids"]})


# The studio's recipe and its fp32 twin, then the ablation chain from the course recipe to the
# studio's, one change at a time: (bf16 autocast, length-grouped batches, base dropout).
RECIPES = {
    "studio": (True, True, 0.0),
    "studio-fp32": (False, True, 0.0),
    "1 dynamic padding, -100 labels (fp32)": (False, False, None),
    "2 + length-grouped batches": (False, True, None),
    "3 + bf16 autocast": (True, True, None),
    "4 + dropout off (= studio)": (True, True, 0.0),
}


def measure_training(model_path: str, method: str, recipe: str, steps: int, pairs_source, seed: int = 42) -> dict:
    """Train `steps` steps with one recipe; samples/s over all steps after the first (warm-up)."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, Trainer, TrainingArguments, set_seed
    from transformers import PrinterCallback

    from .methods import build_method_model
    from .training import build_trainer, prepare_model, tokenize_pairs

    settings = method_settings(method)
    cfg = TrainConfig(steps=steps, batch_size=BATCH_SIZE, train_size=None, seed=seed)
    course = recipe == "course"
    bf16, grouped, dropout = RECIPES.get(recipe, (False, False, None))
    if course:  # the notebooks load the whole model in bf16, trainable weights included
        tokenizer = AutoTokenizer.from_pretrained(model_path)
        model = AutoModelForSeq2SeqLM.from_pretrained(model_path, dtype=torch.bfloat16)
        set_seed(seed)
        model = build_method_model(method, model, settings, tokenizer_path=model_path)
    else:
        model, tokenizer = prepare_model(model_path, method, settings, bf16, "cpu", seed, dropout)
    clock = StepClock()
    out_dir = tempfile.mkdtemp(prefix="bench-trainer-")
    try:
        if course:
            pairs = [(make_prompt(ex.dialogue), ref) for ex in pairs_source for ref in ex.references]
            args = TrainingArguments(output_dir=out_dir, learning_rate=settings.learning_rate, max_steps=steps,
                                     per_device_train_batch_size=BATCH_SIZE, weight_decay=0.01, logging_steps=1,
                                     save_strategy="no", report_to="none", disable_tqdm=True, use_cpu=True,
                                     seed=seed)
            trainer = Trainer(model=model, args=args, train_dataset=_course_dataset(tokenizer, pairs),
                              callbacks=[clock])
            trainer.remove_callback(PrinterCallback)
        else:
            train_set = tokenize_pairs(tokenizer, pairs_source, cfg, seed)
            trainer = build_trainer(model, tokenizer, train_set, cfg, settings.learning_rate,
                                    bf16=bf16, device="cpu", output_dir=out_dir, callbacks=[clock],
                                    group_by_length=grouped)
        trainer.train()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    times = clock.times
    measured = len(times) - 1
    seconds = times[-1] - times[0]
    return {"method": method, "recipe": recipe, "steps": len(times),
            "samples_per_second": measured * BATCH_SIZE / seconds,
            "seconds_per_step": seconds / measured, "losses": clock.losses,
            "final_loss": sum(clock.losses[-3:]) / len(clock.losses[-3:])}


# --------------------------------------------------------------------------- evaluation

def course_eval_loop(model_path: str, examples, max_new_tokens: int) -> tuple[list[str], float]:
    """The notebooks' loop: bf16 weights, one dialogue per generate() call."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_path, dtype=torch.bfloat16)
    started = time.perf_counter()
    outputs = []
    for ex in examples:
        input_ids = tokenizer(make_prompt(ex.dialogue), return_tensors="pt").input_ids
        generated = model.generate(input_ids=input_ids,
                                   generation_config=GenerationConfig(max_new_tokens=max_new_tokens, num_beams=1))
        outputs.append(tokenizer.decode(generated[0], skip_special_tokens=True))
    return outputs, time.perf_counter() - started


def studio_eval(model_path: str, examples, max_new_tokens: int, runs_dir: Path) -> tuple[list[str], float]:
    from .inference import ORIGINAL, GenerationSettings, ModelPool
    from .offline import BaseModelChoice
    from .runs import RunStore

    pool = ModelPool(BaseModelChoice(model_path, model_path), RunStore(runs_dir), dtype=inference_dtype("auto"))
    pool.base()  # loading is not part of evaluation throughput, as in the course loop above
    settings = GenerationSettings(max_new_tokens=max_new_tokens, batch_size=16)
    started = time.perf_counter()
    out = pool.summarize([ORIGINAL], [ex.dialogue for ex in examples], settings)[ORIGINAL].summaries
    return out, time.perf_counter() - started


# Which change bought what in evaluation, each step adding one change to the one before.
EVAL_STEPS = (("1 batches of 16, sorted by length, generate()", dict(shrink=False, eager=False)),
              ("2 + finished summaries leave the batch", dict(shrink=True, eager=False)),
              ("3 + eager attention (the studio's pool)", dict(shrink=True, eager=True)))


def eval_ablation_step(model_path: str, examples, max_new_tokens: int, shrink: bool, eager: bool) -> float:
    """Seconds to summarize `examples` with the pool's batching, one optimisation switched on at a time."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from .decoding import greedy_decode

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_path, dtype=inference_dtype("auto"),
                                                  attn_implementation="eager" if eager else "sdpa").eval()
    prompts = sorted((make_prompt(ex.dialogue) for ex in examples), key=lambda p: -len(tokenizer(p).input_ids))
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(prompts), 16):
            enc = tokenizer(prompts[start:start + 16], return_tensors="pt", padding=True)
            if shrink:
                greedy_decode(model, enc["input_ids"], enc["attention_mask"], max_new_tokens)
            else:
                model.generate(**enc, max_new_tokens=max_new_tokens, num_beams=1, do_sample=False)
    return time.perf_counter() - started


# --------------------------------------------------------------------------- memory (in a fresh process)

MEMORY_SCRIPT = r"""
import gc, json, sys, psutil
from studio import quiet_libraries; quiet_libraries()
from studio.inference import ORIGINAL, GenerationSettings, ModelPool
from studio.offline import BaseModelChoice
from studio.runs import RunStore
model_path, runs_dir, refs = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
rss = lambda: psutil.Process().memory_info().rss
from studio.engine import inference_dtype
pool = ModelPool(BaseModelChoice(model_path, model_path), RunStore(runs_dir), dtype=inference_dtype("auto"))
gc.collect(); before = rss()
pool.summarize(refs, ["#Person1#: Hello.\n#Person2#: Hi, how are you?"], GenerationSettings(max_new_tokens=4))
gc.collect()
print(json.dumps({"rss_before": before, "rss_after": rss(), "loaded": pool.loaded()}))
"""


def measure_memory(model_path: str, runs_dir: Path, refs: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, model_path, str(runs_dir), ",".join(refs)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, HF_HUB_OFFLINE="1"))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["models_bytes"] = out["rss_after"] - out["rss_before"]
    return out


# --------------------------------------------------------------------------- start-up

def measure_startup(timeout: float = 60.0) -> dict:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runs = tempfile.mkdtemp(prefix="bench-startup-runs-")
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_SERVER_PORT=str(port), STUDIO_RUNS_DIR=runs,
               GRADIO_ANALYTICS_ENABLED="False")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited: {proc.stderr.read()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        return {"seconds_to_page": time.perf_counter() - started}
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"app.py served nothing within {timeout} s")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(runs, ignore_errors=True)


# --------------------------------------------------------------------------- the whole benchmark

def mean_rouge(predictions: list[str], references: list[list[str]]) -> dict:
    from .evaluation import rouge_table

    table = rouge_table(predictions, references)
    return {metric: float(table[metric].mean()) for metric in ("rouge1", "rouge2", "rougeL")}


def machine() -> dict:
    flags = ""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        pass
    model = next((line.split(":", 1)[1].strip() for line in flags.splitlines() if line.startswith("model name")), "")
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "avx512_bf16": " avx512_bf16" in flags, "amx": " amx_bf16" in flags,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "python": platform.python_version(), "torch": torch.__version__}


def run_benchmark(out_path: Path, quick: bool = False, say=print) -> dict:
    from . import quiet_libraries
    from .offline import BaseModelChoice
    from .runs import RunStore
    from .training import TrainSpec, train_run

    quiet_libraries()

    def save_partial():  # a long run that dies late still leaves what it measured
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.with_suffix(".partial.json").write_text(json.dumps(results, indent=2))

    settings = Settings.from_env()
    cache_dir = settings.cache_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    model_path, real = bench_model(cache_dir)
    data = load_bundled()
    train_examples = data.split("train")
    test_examples = data.split("test")
    course_steps, studio_steps = (3, 6) if quick else (5, 12)
    results: dict = {"machine": machine(), "model": model_path if real else
                     "random weights, FLAN-T5-small architecture (76,961,152 parameters)",
                     "batch_size": BATCH_SIZE, "quick": quick, "training": [], "ablation": []}
    say(f"model: {results['model']}")

    # 1. Training throughput: course vs studio, and the studio's loss against its fp32 run.
    for method in ("full", "lora", "prompt"):
        for recipe, steps in (("course", course_steps), ("studio", studio_steps), ("studio-fp32", studio_steps)):
            say(f"training {method:<6} {recipe:<12} {steps} steps ...")
            results["training"].append(measure_training(model_path, method, recipe, steps, train_examples))
    if not quick:  # which change bought what, on full fine-tuning
        for recipe in [r for r in RECIPES if r[0].isdigit()]:
            say(f"ablation full   {recipe} ...")
            results["ablation"].append(measure_training(model_path, "full", recipe, studio_steps, train_examples))
    save_partial()

    # 2. Evaluation throughput and ROUGE, same generation budget. Random weights give nearly
    # flat logits, so any rounding flips the argmax and no summary ever ends; real speed and a
    # meaningful ROUGE comparison need a model that has learned to summarize a little. When
    # FLAN-T5-small is not cached, fine-tune the random one on the bundled dialogues first.
    runs_dir = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    eval_model = model_path
    if not real:
        steps = 40 if quick else 150
        say(f"evaluation: first fine-tuning the random model for {steps} steps so it writes summaries ...")
        spec = TrainSpec("full", TrainConfig(steps=steps, batch_size=BATCH_SIZE, train_size=None, seed=0),
                         method_settings("full", {"learning_rate": 1e-3}))
        record = train_run(spec, RunStore(runs_dir), BaseModelChoice(model_path, model_path), data)
        eval_model = str(RunStore(runs_dir).model_dir(record["run_id"]))
        results["evaluation_model"] = {"steps": steps, "final_loss": record.get("final_loss")}
    eval_examples = test_examples[:8] if quick else test_examples
    say(f"evaluation: course loop on {len(eval_examples)} dialogues ...")
    course_out, course_s = course_eval_loop(eval_model, eval_examples, COURSE_MAX_NEW_TOKENS)
    say("evaluation: studio pool ...")
    studio_out, studio_s = studio_eval(eval_model, eval_examples, COURSE_MAX_NEW_TOKENS, runs_dir)
    refs = [ex.references for ex in eval_examples]
    results["evaluation"] = {
        "dialogues": len(eval_examples), "max_new_tokens": COURSE_MAX_NEW_TOKENS,
        "identical_summaries": sum(a.strip() == b.strip() for a, b in zip(course_out, studio_out)),
        "examples": [{"course": a, "studio": b} for a, b in list(zip(course_out, studio_out))[:3]],
        "course": {"seconds": course_s, "dialogues_per_second": len(eval_examples) / course_s,
                   **mean_rouge(course_out, refs)},
        "studio": {"seconds": studio_s, "dialogues_per_second": len(eval_examples) / studio_s,
                   **mean_rouge(studio_out, refs)}}
    results["evaluation_ablation"] = []
    for name, switches in EVAL_STEPS:
        say(f"evaluation ablation: {name} ...")
        seconds = eval_ablation_step(eval_model, eval_examples, COURSE_MAX_NEW_TOKENS, **switches)
        results["evaluation_ablation"].append({"step": name, "seconds": seconds,
                                               "dialogues_per_second": len(eval_examples) / seconds})
    save_partial()

    # 3. Memory: one model alone vs the pool with original + full + LoRA + prompt.
    say("memory: training one tiny run of each method for the pool ...")
    store = RunStore(runs_dir)
    base = BaseModelChoice(model_path, model_path)
    run_ids = {}
    for method in ("full", "lora", "prompt"):
        spec = TrainSpec(method, TrainConfig(steps=1, batch_size=2, train_size=2), method_settings(method))
        run_ids[method] = train_run(spec, store, base, data)["run_id"]
    one = measure_memory(model_path, runs_dir, ["original"])
    four = measure_memory(model_path, runs_dir, ["original", run_ids["full"], run_ids["lora"], run_ids["prompt"]])
    results["memory"] = {"one_model": one, "four_models": four,
                         "ratio_models": four["models_bytes"] / one["models_bytes"],
                         "ratio_process": four["rss_after"] / one["rss_after"]}
    shutil.rmtree(runs_dir, ignore_errors=True)

    # 4. Start-up, offline (a second start, once the stand-in model is cached).
    say("start-up: python app.py ...")
    try:
        measure_startup()
        results["startup"] = measure_startup()
    except (RuntimeError, FileNotFoundError) as exc:
        results["startup"] = {"error": str(exc)}

    results["summary"] = summarize_results(results)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, indent=2))
    out_path.with_suffix(".partial.json").unlink(missing_ok=True)
    say(format_table(results))
    say(f"results written to {out_path}")
    return results


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
