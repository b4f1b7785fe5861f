"""Shrinking-batch greedy decoding: the same tokens as generate(), with finished rows dropped."""
from collections import Counter, defaultdict

import pytest
import torch
from peft import PeftModel

from studio.data.dialogsum import make_prompt
from studio.generate.decoding import greedy_decode, is_plain_greedy, use_eager_attention_on_cpu
from studio.model.base_model import load_base

NEW_TOKENS = 16


def trimmed_generate(model, enc, eos_id):
    """generate()'s greedy tokens per row, without the start token and the padding after the end."""
    rows = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                          max_new_tokens=NEW_TOKENS, do_sample=False, num_beams=1)[:, 1:].tolist()
    return [row[:row.index(eos_id) + 1] if eos_id in row else row for row in rows]


def ending_token(rows):
    """A token that ends the rows at as many different steps as possible (the stand-in rarely says </s>)."""
    first_positions = defaultdict(set)
    for row in rows:
        for token in set(row):
            first_positions[token].add(row.index(token))
    for token, positions in first_positions.items():
        if any(token not in row for row in rows):
            positions.add(None)  # some rows never end: they run to the budget
    return max(first_positions, key=lambda token: len(first_positions[token]))


@pytest.fixture(scope="module")
def setup(trained):
    studio, runs = trained
    dialogues = [ex.dialogue for ex in studio.data.split("test")[:8]]
    _, tokenizer = load_base(studio.base.path)
    enc = tokenizer([make_prompt(d) for d in dialogues], return_tensors="pt", padding=True)
    return studio, runs, enc


def load(setup, which):
    """The model, with an end token chosen so that its rows end at different steps."""
    studio, runs, enc = setup
    model, _ = load_base(studio.base.path)
    if which != "original":
        model = PeftModel.from_pretrained(model, str(studio.store.model_dir(runs[which])))
    model.eval()
    with torch.inference_mode():
        free_run = model.generate(**enc, max_new_tokens=NEW_TOKENS, do_sample=False)[:, 1:].tolist()
    model.generation_config.eos_token_id = ending_token(free_run)
    return model


@pytest.mark.parametrize("which", ["original", "lora", "prompt"])
def test_same_tokens_as_generate_when_rows_end_at_different_steps(setup, which):
    enc = setup[2]
    model = load(setup, which)
    eos_id = model.generation_config.eos_token_id
    with torch.inference_mode():
        expected = trimmed_generate(model, enc, eos_id)
        got = greedy_decode(model, enc["input_ids"], enc["attention_mask"], NEW_TOKENS)
    # The case that matters: rows end at different steps, so the batch shrinks mid-way.
    lengths = {len(row) for row in expected}
    assert len(lengths) >= 2 and min(lengths) < NEW_TOKENS, expected
    assert got == expected


def test_finished_rows_leave_the_batch(setup):
    enc = setup[2]
    model = load(setup, "original")
    rows_per_step = []
    hook = model.decoder.register_forward_pre_hook(
        lambda module, args, kwargs: rows_per_step.append(kwargs["input_ids"].shape[0]), with_kwargs=True)
    with torch.inference_mode():
        tokens = greedy_decode(model, enc["input_ids"], enc["attention_mask"], NEW_TOKENS)
    hook.remove()
    lengths = Counter(len(row) for row in tokens)
    assert rows_per_step[0] == len(tokens)
    assert rows_per_step == sorted(rows_per_step, reverse=True) and rows_per_step[-1] < rows_per_step[0]
    # At each step, exactly the rows whose summary is not finished yet are computed.
    for step, rows in enumerate(rows_per_step):
        assert rows == sum(count for length, count in lengths.items() if length > step)


def test_only_plain_greedy_search_takes_the_shortcut(setup):
    model = load(setup, "original")
    assert is_plain_greedy(model, num_beams=1)
    assert not is_plain_greedy(model, num_beams=4)
    model.generation_config.repetition_penalty = 1.3
    assert not is_plain_greedy(model, num_beams=1)
    model.generation_config.repetition_penalty = 1.0
    model.generation_config.no_repeat_ngram_size = 3
    assert not is_plain_greedy(model, num_beams=1)


def test_pool_falls_back_to_generate_for_beam_search(trained):
    from studio.generate.inference import ORIGINAL, GenerationSettings, ModelPool

    studio, _ = trained
    dialogues = [ex.dialogue for ex in studio.data.split("test")[:2]]
    pool = ModelPool(studio.base, studio.store)
    beams = pool.summarize([ORIGINAL], dialogues, GenerationSettings(max_new_tokens=8, num_beams=3))[ORIGINAL]
    model, tokenizer = pool.base(), pool.tokenizer
    enc = tokenizer([make_prompt(dialogues[0])], return_tensors="pt")
    with torch.inference_mode():
        direct = model.generate(**enc, max_new_tokens=8, num_beams=3, do_sample=False)
    assert beams.summaries[0] == tokenizer.decode(direct[0], skip_special_tokens=True).strip()


def test_eager_attention_on_cpu_only(setup):
    model = load(setup, "original")
    before = model.config._attn_implementation
    use_eager_attention_on_cpu(model, "cuda")
    assert model.config._attn_implementation == before
    use_eager_attention_on_cpu(model, "cpu")
    assert model.config._attn_implementation == "eager"
