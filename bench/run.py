"""Run every part of the benchmark on one model and one machine, and write the results as JSON.

    run_benchmark(Path("bench/results/latest.json"), quick=True)

Everything is measured in this one run, on the same model, data and batch size:
1. training samples/s for full, LoRA and prompt tuning, course recipe vs studio
   recipe, plus the studio's loss against an fp32 run of its own recipe, and an
   ablation (full fine-tuning) that shows which change bought what;
2. evaluation dialogues/s: the course's one-at-a-time loop vs the studio's pool,
   with the same generation budget, and the ROUGE each gets;
3. resident memory of the model pool with four models against one model;
4. seconds from `python app.py` to a served page, offline.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from studio.config.settings import Settings, TrainConfig
from studio.data.dialogsum import DialogData, load_bundled
from studio.model.methods import registry

from .app_server import AppNotServing, measure_startup
from .eval_speed import compare_evaluation, evaluation_ablation
from .memory import pool_memory
from .model import bench_model
from .report import format_table, machine, summarize_results
from .train_speed import ABLATION_RECIPES, BATCH_SIZE, measure_training

METHODS = ("full", "lora", "prompt")


def _partial_saver(out_path: Path, results: dict):
    """A long run that dies late still leaves what it measured."""
    def save():
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.with_suffix(".partial.json").write_text(json.dumps(results, indent=2))
    return save


def _training(model_path: str, train_examples, quick: bool, say) -> tuple[list, list]:
    """Course vs studio vs studio-fp32 for each method; on a full run, the ablation chain too."""
    course_steps, studio_steps = (3, 6) if quick else (5, 12)
    training = []
    for method in METHODS:
        for recipe, steps in (("course", course_steps), ("studio", studio_steps), ("studio-fp32", studio_steps)):
            say(f"training {method:<6} {recipe:<12} {steps} steps ...")
            training.append(measure_training(model_path, method, recipe, steps, train_examples))
    ablation = []
    if not quick:  # which change bought what, on full fine-tuning
        for recipe in ABLATION_RECIPES:
            say(f"ablation full   {recipe} ...")
            ablation.append(measure_training(model_path, "full", recipe, studio_steps, train_examples))
    return training, ablation


def _evaluation_model(model_path: str, real: bool, data: DialogData, runs_dir: Path, quick: bool,
                      say) -> tuple[str, dict | None]:
    """The model to evaluate with, and how it was made when it is not the real FLAN-T5-small.

    Random weights give nearly flat logits, so any rounding flips the argmax and no
    summary ever ends; real speed and a meaningful ROUGE comparison need a model that
    has learned to summarize a little. So the random model is fine-tuned first.
    """
    if real:
        return model_path, None
    from studio.model.base_model import BaseModelChoice
    from studio.store.runs import RunStore
    from studio.train.training import TrainSpec, train_run

    steps = 40 if quick else 150
    say(f"evaluation: first fine-tuning the random model for {steps} steps so it writes summaries ...")
    cfg = TrainConfig(steps=steps, batch_size=BATCH_SIZE, train_size=None, seed=0, learning_rate=1e-3)
    spec = TrainSpec("full", cfg, registry.method_settings("full"))
    record = train_run(spec, RunStore(runs_dir), BaseModelChoice(model_path, model_path), data)
    return str(RunStore(runs_dir).model_dir(record.run_id)), {"steps": steps, "final_loss": record.final_loss}


def _startup(say) -> dict:
    """Offline start-up, measured on a second start, once the stand-in model is cached."""
    say("start-up: python app.py ...")
    try:
        measure_startup()
        return measure_startup()
    except (AppNotServing, FileNotFoundError) as exc:
        return {"error": str(exc)}


def _write(out_path: Path, results: dict, say) -> None:
    results["summary"] = summarize_results(results)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, indent=2))
    out_path.with_suffix(".partial.json").unlink(missing_ok=True)
    say(format_table(results))
    say(f"results written to {out_path}")


def run_benchmark(out_path: Path, quick: bool = False, say=print) -> dict:
    from studio import quiet_libraries

    quiet_libraries()
    cache_dir = Settings.from_env().cache_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    model_path, real = bench_model(cache_dir)
    data = load_bundled()
    results: dict = {"machine": machine(), "model": model_path if real else
                     "random weights, FLAN-T5-small architecture (76,961,152 parameters)",
                     "batch_size": BATCH_SIZE, "quick": quick}
    save_partial = _partial_saver(out_path, results)
    say(f"model: {results['model']}")

    results["training"], results["ablation"] = _training(model_path, data.split("train"), quick, say)
    save_partial()

    runs_dir = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    try:
        eval_model, made = _evaluation_model(model_path, real, data, runs_dir, quick, say)
        if made:
            results["evaluation_model"] = made
        test_examples = data.split("test")
        eval_examples = test_examples[:8] if quick else test_examples
        results["evaluation"] = compare_evaluation(eval_model, eval_examples, runs_dir, say)
        results["evaluation_ablation"] = evaluation_ablation(eval_model, eval_examples, say)
        save_partial()

        say("memory: training one tiny run of each method for the pool ...")
        results["memory"] = pool_memory(model_path, runs_dir, data)
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)

    results["startup"] = _startup(say)
    _write(out_path, results, say)
    return results
