"""The insight commands (overlap, prompt-tokens, forgetting, topic groups, per-topic), run in-process."""
import json
import math

import pytest

from studio import cli
from studio.measure.evaluation import scorer
from studio.measure.forgetting import load_probe
from studio.measure.topics import group_counts, topic_group
from studio.model.base_model import load_base
from studio.model.methods.prompt_tuning import PromptSettings


def test_overlap_marks_agree_with_rouge_score(run_cli):
    summary = "Anna and Ben talked about the party. Anna will bring the cake and the cake is big."
    references = ["Carl asks about a trip.", "Anna will bring a cake to Ben's party; they talked about it."]
    code, out, _ = run_cli.json("overlap", "--summary", summary, "--reference", references[0],
                                "--reference", references[1], "--json")
    assert code == 0
    assert out["best_reference"] == 1
    tokens = out["tokens"]
    assert all(set(t) == {"text", "unigram", "bigram", "lcs"} for t in tokens)
    assert [t["text"] for t in tokens][:4] == ["Anna", "and", "Ben", "talked"]
    expected = scorer().score(references[1], summary)
    for metric in ("rouge1", "rouge2", "rougeL"):
        for part in ("precision", "recall", "fmeasure"):
            assert out[metric][part] == pytest.approx(getattr(expected[metric], part))
    # The picture is the score: the share marked unigram is ROUGE-1 precision; LCS marks count the LCS.
    assert sum(t["unigram"] for t in tokens) / len(tokens) == pytest.approx(expected["rouge1"].precision)
    assert sum(t["lcs"] for t in tokens) == round(expected["rougeL"].precision * len(tokens))
    # "cake" appears twice in the summary, once in the reference: ROUGE clips it, and so do the marks.
    assert sum(t["unigram"] for t in tokens if t["text"] == "cake") == 1


def test_overlap_with_a_dialogue_marks_copied_words(run_cli):
    code, out, _ = run_cli.json("overlap", "--summary", "Anna invites Ben to dinner.", "--reference",
                                "Anna asks Ben to dinner.", "--dialogue", "Anna: Ben, dinner tonight?\nBen: Sure.",
                                "--json")
    assert code == 0
    copied = {t["text"]: t["copied"] for t in out["copied"]["tokens"]}
    assert copied == {"Anna": True, "invites": False, "Ben": True, "to": False, "dinner": True}
    assert out["copied"]["new_words"] == 2 and out["copied"]["new_share"] == pytest.approx(2 / 5)


def test_overlap_refuses_empty_references(run_cli):
    code, _, err = run_cli.json("overlap", "--summary", "Hi.", "--reference", "  ", "--json")
    assert code == cli.EXIT_BAD_INPUT and "non-empty reference" in err


def test_data_reports_topic_groups_per_split(run_cli, studio):
    code, out, _ = run_cli.json("data", "--json")
    assert code == 0
    assert set(out["topic_groups"]) == set(out["splits"])
    for split, groups in out["topic_groups"].items():
        assert sum(groups.values()) == out["splits"][split]["examples"]
        assert groups == group_counts(studio.data, split)
        topics = [ex.topic for ex in studio.data.split(split)]
        assert all(groups[topic_group(t)] >= 1 for t in topics)


def test_prompt_tokens_read_back_the_init_text_of_a_barely_trained_run(run_cli, studio):
    code, trained, _ = run_cli.json("train", "--method", "prompt", "--steps", "2", "--batch-size", "4",
                                    "--train-size", "16", "--learning-rate", "1e-9", "--json")
    assert code == 0 and trained["status"] == "completed"
    code, out, _ = run_cli.json("prompt-tokens", trained["run_id"], "--top-k", "4", "--json")
    assert code == 0
    settings = PromptSettings()
    _, tokenizer = load_base(studio.base.path)
    ids = tokenizer(settings.prompt_init_text)["input_ids"]
    expected = (ids * math.ceil(settings.prompt_num_virtual_tokens / len(ids)))[: settings.prompt_num_virtual_tokens]
    virtual = out["virtual_tokens"]
    assert [v["index"] for v in virtual] == list(range(settings.prompt_num_virtual_tokens))
    assert [v["nearest"][0]["token_id"] for v in virtual] == expected
    assert [v["nearest"][0]["token"] for v in virtual] == tokenizer.convert_ids_to_tokens(expected)
    for v in virtual:
        cosines = [n["cosine"] for n in v["nearest"]]
        assert len(cosines) == 4 and cosines == sorted(cosines, reverse=True) and cosines[0] > 0.999


def test_prompt_tokens_refuses_other_runs_and_bad_top_k(run_cli):
    code, lora, _ = run_cli.json("train", "--method", "lora", "--steps", "1", "--batch-size", "4", "--train-size",
                                 "8", "--json")
    assert code == 0
    # Named by its id (a name is free text, and may even read as another run's id), then its name.
    assert run_cli("rename", lora["run_id"], "prompt-20990101-000000-beef")[0] == 0
    code, _, err = run_cli.json("prompt-tokens", lora["run_id"], "--json")
    assert code == cli.EXIT_BAD_INPUT and "only prompt-tuning runs" in err
    assert f"Run {lora['run_id']} (prompt-20990101-000000-beef) is a LoRA run" in err
    code, _, err = run_cli.json("prompt-tokens", lora["run_id"], "--top-k", "0", "--json")
    assert code == cli.EXIT_BAD_INPUT and "1 to 50" in err
    code, _, err = run_cli.json("prompt-tokens", "no-such-run", "--json")
    assert code == cli.EXIT_BAD_INPUT and err.startswith("error:")


def test_forgetting_scores_the_original_and_a_run(run_cli):
    code, lora, _ = run_cli.json("train", "--method", "lora", "--steps", "1", "--batch-size", "4", "--train-size",
                                 "8", "--json")
    assert code == 0
    code, out, _ = run_cli.json("forgetting", "--models", "original", lora["run_id"], "--json")
    assert code == 0
    probe = load_probe()
    assert out["examples"] == len(probe) and sum(out["tasks"].values()) == len(probe)
    assert set(out["scores"]) == {"original", lora["run_id"]} and set(out["change"]) == {lora["run_id"]}
    for scores in out["scores"].values():
        assert set(scores["per_task"]) == set(out["tasks"])
        assert 0 <= scores["overall"]["exact_match"] <= scores["overall"]["f1"] <= 1
    change = out["change"][lora["run_id"]]["overall"]
    for key in ("exact_match", "f1"):
        assert change[key] == pytest.approx(out["scores"][lora["run_id"]]["overall"][key]
                                            - out["scores"]["original"]["overall"][key])
    code, _, err = run_cli.json("forgetting", "--models", "original", "gone-run", "--json")
    assert code == cli.EXIT_BAD_INPUT and err.startswith("error:")


def test_evaluate_reports_per_topic_groups_and_pairs(run_cli):
    code, lora, _ = run_cli.json("train", "--method", "lora", "--steps", "1", "--batch-size", "4", "--train-size",
                                 "8", "--json")
    code, out, _ = run_cli.json("evaluate", "--models", "original", lora["run_id"], "--limit", "6",
                                "--max-new-tokens", "6", "--json")
    assert code == 0
    groups = out["per_topic"]
    assert sum(g["examples"] for g in groups) == 6
    for group in groups:
        assert set(group["scores"]) == {"original", lora["run_id"]}
        for scores in group["scores"].values():
            assert 0 <= scores["rougeL"]["low"] <= scores["rougeL"]["mean"] <= scores["rougeL"]["high"] <= 1
        assert group["too_few"] == (group["examples"] < 10)
    # A group that holds every dialogue has the overall mean; in general the weighted means add up to it.
    weighted = sum(g["examples"] * g["scores"]["original"]["rougeL"]["mean"] for g in groups) / 6
    assert weighted == pytest.approx(out["models"]["original"]["rougeL"]["mean"])
    pairs = out["paired"]
    assert {(p["a"], p["b"]) for p in pairs} == {("original", lora["run_id"])}
    for pair in pairs:
        assert pair["low"] <= pair["difference"] <= pair["high"]
        assert pair["difference"] == pytest.approx(out["models"][lora["run_id"]][pair["metric"]]["mean"]
                                                   - out["models"]["original"][pair["metric"]]["mean"])


def test_overlap_fool_gives_the_compare_views_numbers(run_cli):
    from studio.measure.fooling import fool

    summary = "Anna invites Ben to her birthday party on Saturday and asks him to bring the cake."
    reference = "Anna invites Ben to the party on Saturday; Ben will bring the cake and the candles for the party."
    dialogue = "#Person1#: Ben, come to my party on Saturday?\n#Person2#: Sure, Anna. I will bring the cake."
    code, out, _ = run_cli.json("overlap", "--summary", summary, "--reference", reference, "--dialogue", dialogue,
                                "--fool", "--json")
    assert code == 0
    assert out["fool"] == json.loads(json.dumps(fool(summary, [reference], dialogue)))   # what Compare shows
    cases = {c["case"]: c for c in out["fool"]["cases"]}
    assert set(cases) == {"summary", "shuffled", "repeated", "dialogue"}
    assert cases["shuffled"]["rouge1"] == cases["summary"]["rouge1"]
    assert 0 <= cases["repeated"]["bleu"] < cases["summary"]["bleu"] <= 1   # fractions, like the ROUGE keys
    assert "rouge1" in out and "fool" not in run_cli.json("overlap", "--summary", summary, "--reference", reference,
                                                          "--json")[1]
    # Without --json: each case's text, its four scores and its sentence.
    code, printed, _ = run_cli("overlap", "--summary", summary, "--reference", reference, "--fool")
    assert code == 0 and "Same words, shuffled:" in printed and "bleu" in printed and "clipping" in printed
