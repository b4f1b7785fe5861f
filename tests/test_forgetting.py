"""The forgetting probe: its bundled data, its scoring, and how it reaches the models."""
import json
from collections import Counter

import pytest

from studio.measure.forgetting import (
    exact_match,
    load_probe,
    normalize,
    pool_generator,
    run_probe,
    score_predictions,
    token_f1,
)

PROBE = load_probe()


def fake(policy):
    """A generate() whose model `m` answers item i with policy(m, i, item)."""
    by_instruction = {item["instruction"]: (i, item) for i, item in enumerate(PROBE)}

    def generate(models, prompts, progress=None):
        return {m: [policy(m, *by_instruction[p]) for p in prompts] for m in models}

    return generate


def test_bundled_probe_is_valid_and_varied():
    assert len(PROBE) >= 40
    tasks = Counter(item["task"] for item in PROBE)
    assert len(tasks) >= 4 and min(tasks.values()) >= 8
    assert len({item["id"] for item in PROBE}) == len(PROBE)
    assert len({normalize(item["instruction"]) for item in PROBE}) == len(PROBE)
    for item in PROBE:
        assert item["answers"] and all(normalize(a) for a in item["answers"])
        assert "Summarize" not in item["instruction"]


def test_perfect_hopeless_and_half_right_models():
    right = fake(lambda m, i, item: item["answers"][0].upper() + "!")     # case and punctuation do not matter
    result = run_probe(right, ["original"])
    assert result["examples"] == len(PROBE)
    assert result["tasks"] == dict(Counter(item["task"] for item in PROBE))
    assert result["scores"]["original"]["overall"] == {"exact_match": 1.0, "f1": 1.0}
    assert all(s["exact_match"] == 1.0 and s["f1"] == 1.0 for s in result["scores"]["original"]["per_task"].values())

    wrong = run_probe(fake(lambda m, i, item: "zebra crossing"), ["original"])
    assert wrong["scores"]["original"]["overall"] == {"exact_match": 0.0, "f1": 0.0}

    # Right on every item with an even index: the expected share, overall and per task.
    half = run_probe(fake(lambda m, i, item: item["answers"][-1] if i % 2 == 0 else ""), ["original"])
    evens = [i % 2 == 0 for i in range(len(PROBE))]
    assert half["scores"]["original"]["overall"]["exact_match"] == pytest.approx(sum(evens) / len(PROBE))
    for task, scores in half["scores"]["original"]["per_task"].items():
        mine = [even for even, item in zip(evens, PROBE) if item["task"] == task]
        assert scores["exact_match"] == pytest.approx(sum(mine) / len(mine)) == pytest.approx(scores["f1"])
        assert scores["examples"] == len(mine)


def test_change_is_each_run_minus_the_original():
    def policy(model, i, item):
        if model == "original" or (model == "lora-1" and item["task"] != "arithmetic"):
            return item["answers"][0]
        return "I do not know"

    result = run_probe(fake(policy), ["original", "lora-1", "full-1"])
    assert set(result["change"]) == {"lora-1", "full-1"}
    arithmetic = sum(item["task"] == "arithmetic" for item in PROBE)
    assert result["change"]["lora-1"]["overall"]["exact_match"] == pytest.approx(-arithmetic / len(PROBE))
    assert result["change"]["lora-1"]["per_task"]["arithmetic"]["exact_match"] == -1.0
    assert result["change"]["lora-1"]["per_task"]["sentiment"]["exact_match"] == 0.0
    assert result["change"]["full-1"]["overall"] == {"exact_match": -1.0, "f1": -1.0}
    assert result["predictions"]["full-1"] == ["I do not know"] * len(PROBE)
    assert json.loads(json.dumps(result)) == result   # the CLI prints it as is
    assert run_probe(fake(policy), ["lora-1"])["change"] == {}


def test_normalised_exact_match_and_token_f1():
    assert normalize("  The Lion!  ") == "lion"
    assert exact_match("the lion.", ["lion"]) == 1.0
    assert exact_match("a lion cub", ["lion"]) == 0.0
    assert exact_match("Comment allez-vous ?", ["Comment allez-vous"]) == 1.0
    assert token_f1("William Shakespeare wrote it", ["Shakespeare", "William Shakespeare"]) == pytest.approx(
        2 * (2 / 4) * (2 / 2) / (2 / 4 + 2 / 2))
    assert token_f1("", ["yes"]) == 0.0 and token_f1("no", ["yes"]) == 0.0
    with pytest.raises(ValueError, match="answers"):
        score_predictions(PROBE[:2], ["yes"])


def test_bad_probe_files_are_refused(tmp_path):
    bad = tmp_path / "probe.jsonl"
    for content in ('{"id": "x", "task": "t", "instruction": "q"}', ('{"id": "x", "task": "t", "instruction": "q", '
                    '"answers": ["!!"]}'), "not json", ""):
        bad.write_text(content)
        with pytest.raises(ValueError, match="[Pp]robe"):
            load_probe(bad)
    with pytest.raises(ValueError, match="at least one model"):
        run_probe(fake(lambda *a: ""), [])


def test_pool_generator_sends_the_instruction_without_the_summary_template(studio):
    sent = {}

    class RecordingPool:
        def summarize(self, refs, prompts, settings=None, progress=None, template=True):
            sent.update(prompts=prompts, template=template, max_new_tokens=settings.max_new_tokens)
            return {ref: type("R", (), {"summaries": ["yes"] * len(prompts)}) for ref in refs}

    items = PROBE[:3]
    run_probe(pool_generator(RecordingPool()), ["original"], items)
    assert sent == {"prompts": [item["instruction"] for item in items], "template": False, "max_new_tokens": 24}

    # The real pool answers the raw instruction: the same tokens as generating from it by hand.
    import torch

    answers = pool_generator(studio.pool)(["original"], [items[0]["instruction"]])["original"]
    model, tokenizer = studio.pool.base(), studio.pool.tokenizer
    with torch.inference_mode():
        ids = model.generate(**tokenizer([items[0]["instruction"]], return_tensors="pt"), max_new_tokens=24,
                             do_sample=False, num_beams=1)
    assert answers == [tokenizer.decode(ids[0], skip_special_tokens=True).strip()]


def test_forgetting_is_not_measurable_where_the_original_knows_next_to_nothing():
    nothing = run_probe(fake(lambda m, i, item: "zebra"), ["original", "lora-1"])
    assert nothing["measurable"] is False
    few = run_probe(fake(lambda m, i, item: item["answers"][0] if i < 2 else "zebra"), ["original"])
    assert few["measurable"] is False   # 2 of 51 right: about 4%
    knows = run_probe(fake(lambda m, i, item: item["answers"][0] if i % 2 else "zebra"), ["original"])
    assert knows["measurable"] is True
    assert run_probe(fake(lambda m, i, item: "zebra"), ["lora-1"])["measurable"] is None
