"""Evaluation throughput and ROUGE: the course's one-dialogue-at-a-time loop against the studio's pool.

    results = compare_evaluation(model_path, examples, runs_dir)     # same generation budget for both
    steps = evaluation_ablation(model_path, examples)                # which change bought what
"""
from __future__ import annotations

import time
from pathlib import Path

from studio.data.dialogsum import make_prompt
from studio.model.hardware import inference_dtype

COURSE_MAX_NEW_TOKENS = 200      # the course's generation budget, used by both loops for a fair race
ABLATION_BATCH = 16

# Which change bought what in evaluation, each step adding one change to the one before.
EVAL_STEPS = (("1 batches of 16, sorted by length, generate()", dict(shrink=False, eager=False)),
              ("2 + finished summaries leave the batch", dict(shrink=True, eager=False)),
              ("3 + eager attention (the studio's pool)", dict(shrink=True, eager=True)))


def course_eval_loop(model_path: str, examples, max_new_tokens: int) -> tuple[list[str], float]:
    """The notebooks' loop: bf16 weights, one dialogue per generate() call."""
    import torch
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
    """The studio's model pool summarizing every dialogue, loading not counted."""
    from studio.generate.inference import ORIGINAL, GenerationSettings, ModelPool
    from studio.model.base_model import BaseModelChoice
    from studio.store.runs import RunStore

    pool = ModelPool(BaseModelChoice(model_path, model_path), RunStore(runs_dir), dtype=inference_dtype("auto"))
    pool.base()  # loading is not part of evaluation throughput, as in the course loop above
    settings = GenerationSettings(max_new_tokens=max_new_tokens, batch_size=16)
    started = time.perf_counter()
    out = pool.summarize([ORIGINAL], [ex.dialogue for ex in examples], settings)[ORIGINAL].summaries
    return out, time.perf_counter() - started


def mean_rouge(predictions: list[str], references: list[list[str]]) -> dict:
    from studio.measure.evaluation import rouge_table

    table = rouge_table(predictions, references)
    return {metric: float(table[metric].mean()) for metric in ("rouge1", "rouge2", "rougeL")}


def compare_evaluation(model_path: str, examples, runs_dir: Path, say=print) -> dict:
    """Both loops on the same dialogues and budget: speed, ROUGE, and how many summaries agree."""
    say(f"evaluation: course loop on {len(examples)} dialogues ...")
    course_out, course_s = course_eval_loop(model_path, examples, COURSE_MAX_NEW_TOKENS)
    say("evaluation: studio pool ...")
    studio_out, studio_s = studio_eval(model_path, examples, COURSE_MAX_NEW_TOKENS, runs_dir)
    references = [ex.references for ex in examples]
    return {
        "dialogues": len(examples), "max_new_tokens": COURSE_MAX_NEW_TOKENS,
        "identical_summaries": sum(a.strip() == b.strip() for a, b in zip(course_out, studio_out, strict=True)),
        "examples": [{"course": a, "studio": b} for a, b in list(zip(course_out, studio_out, strict=True))[:3]],
        "course": {"seconds": course_s, "dialogues_per_second": len(examples) / course_s,
                   **mean_rouge(course_out, references)},
        "studio": {"seconds": studio_s, "dialogues_per_second": len(examples) / studio_s,
                   **mean_rouge(studio_out, references)}}


def eval_ablation_step(model_path: str, examples, max_new_tokens: int, shrink: bool, eager: bool) -> float:
    """Seconds to summarize `examples` with the pool's batching, one optimisation switched on at a time."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from studio.generate.decoding import greedy_decode

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_path, dtype=inference_dtype("auto"),
                                                  attn_implementation="eager" if eager else "sdpa").eval()
    prompts = sorted((make_prompt(ex.dialogue) for ex in examples), key=lambda p: -len(tokenizer(p).input_ids))
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(prompts), ABLATION_BATCH):
            enc = tokenizer(prompts[start:start + ABLATION_BATCH], return_tensors="pt", padding=True)
            if shrink:
                greedy_decode(model, enc["input_ids"], enc["attention_mask"], max_new_tokens)
            else:
                model.generate(**enc, max_new_tokens=max_new_tokens, num_beams=1, do_sample=False)
    return time.perf_counter() - started


def evaluation_ablation(model_path: str, examples, say=print) -> list[dict]:
    steps = []
    for name, switches in EVAL_STEPS:
        say(f"evaluation ablation: {name} ...")
        seconds = eval_ablation_step(model_path, examples, COURSE_MAX_NEW_TOKENS, **switches)
        steps.append({"step": name, "seconds": seconds, "dialogues_per_second": len(examples) / seconds})
    return steps
