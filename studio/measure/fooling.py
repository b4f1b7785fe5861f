"""Can ROUGE be fooled? Three bad summaries built from a summary, its reference and its dialogue, scored.

    out = fool(summary, [reference, ...], dialogue)       # dialogue optional: without it, no third case
    out["reference"]                 # the reference every case is scored against (the overlap view's best)
    [c["case"] for c in out["cases"]]   # ["summary", "shuffled", "repeated", "dialogue"]
    out["cases"][1]["rouge1"]        # {"precision", "recall", "fmeasure"}; also "rouge2", "rougeL"
    out["cases"][1]["bleu"]          # sacrebleu's BLEU of that one text, a fraction
    out["cases"][1]["why"]           # one plain sentence on what the numbers show

The three are the lecture's warnings, made from the person's own texts:
  - shuffled: the summary's words in a seeded random order. ROUGE-1 counts words, not
    their order, so it cannot move; ROUGE-2, ROUGE-L and BLEU need words in sequence.
  - repeated: the reference's most frequent word, as many times as the reference has
    words. Without clipping its precision would be perfect; ROUGE and BLEU count a word
    at most as often as the reference holds it.
  - dialogue: the whole dialogue handed in as the "summary". It holds most of the
    reference's words, so recall is high: recall rewards length, precision does not.
Scores use the studio's own ROUGE (rouge_score with the stemmer) and BLEU (sacrebleu),
against one reference: the one the overlap view highlights (best ROUGE-L F1 with the
summary), so the counts in the sentences are exact.
"""
from __future__ import annotations

import random
from collections import Counter

from studio.measure.evaluation import corpus_bleu, scorer
from studio.measure.overlap import overlap, tokens_with_positions

CASES = ("summary", "shuffled", "repeated", "dialogue")
LABELS = {"summary": "The summary", "shuffled": "Same words, shuffled",
          "repeated": "The reference's most frequent word, repeated", "dialogue": "The dialogue, copied whole"}
ROUGE = ("rouge1", "rouge2", "rougeL")
SEED = 0   # the shuffle is seeded: the same summary always gives the same shuffle


def shuffled_words(summary: str, seed: int = SEED) -> str:
    """The summary's words (split on whitespace, punctuation kept on its word) in a seeded random order.

    A few draws are tried so that a summary of two or more different words really changes order.
    """
    words = summary.split()
    rng = random.Random(seed)
    for _ in range(20):
        order = words[:]
        rng.shuffle(order)
        if order != words:
            return " ".join(order)
    return " ".join(words)   # one word, or the same word over and over: no other order exists


def most_frequent_word(reference: str) -> tuple[str, int, int]:
    """(word as written, its count, the reference's length), counted in ROUGE's own tokens (stemmed).

    A tie goes to the word that comes first.
    """
    tokens = tokens_with_positions(reference)
    if not tokens:
        raise ValueError("The reference has no words ROUGE can count.")
    counts = Counter(t["token"] for t in tokens)
    first = max(tokens, key=lambda t: (counts[t["token"]], -tokens.index(t)))
    return first["text"], counts[first["token"]], len(tokens)   # as written: BLEU, unlike ROUGE, minds case


def _scores(text: str, reference: str) -> dict:
    rouge = scorer().score(reference, text)
    out = {m: {"precision": float(rouge[m].precision), "recall": float(rouge[m].recall),
               "fmeasure": float(rouge[m].fmeasure)} for m in ROUGE}
    out["bleu"] = corpus_bleu([text], [[reference]])
    return out


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def _why_shuffled(case: dict, base: dict, changed: bool) -> str:
    if not changed:
        return "This summary has no other order of its words to try, so shuffling changes nothing."
    if base["rouge1"]["fmeasure"] == 0:
        return ("The summary shares no word with the reference, so no order of its words can score: try this "
                "on a summary that does.")
    # Only the measures of words in sequence can notice; each is shown as it moved, even where it did not.
    moves = ", ".join(f"{name} {_points(before)} \u2192 {_points(after)}" for name, before, after in (
        ("ROUGE-2", base["rouge2"]["fmeasure"], case["rouge2"]["fmeasure"]),
        ("ROUGE-L", base["rougeL"]["fmeasure"], case["rougeL"]["fmeasure"]),
        ("BLEU", base["bleu"], case["bleu"])))
    return (f"ROUGE-1 stays at {_points(case['rouge1']['fmeasure'])} because it counts words and ignores their "
            f"order; only the scores that need words in sequence can notice ({moves}).")


def _why_repeated(case: dict, word: str, in_reference: int, times: int) -> str:
    return (f"\u201c{word}\u201d is in the reference {in_reference} time{'s' if in_reference != 1 else ''}, so "
            f"ROUGE counts only {in_reference} of its {times} repeats (clipping, which BLEU does too): ROUGE-1 "
            f"precision is {_points(case['rouge1']['precision'])} instead of 100, and BLEU {_points(case['bleu'])}.")


def _why_dialogue(case: dict, base: dict) -> str:
    return (f"Copying the whole dialogue finds {_points(case['rouge1']['recall'])}% of the reference's words "
            f"(ROUGE-1 recall; the summary finds {_points(base['rouge1']['recall'])}%) with no effort: recall "
            f"rewards length, and only precision ({_points(case['rouge1']['precision'])}) and BLEU "
            f"({_points(case['bleu'])}) show it is no summary.")


def fool(summary: str, references: list[str] | str, dialogue: str | None = None, seed: int = SEED) -> dict:
    """The summary and its three fooling variants, each scored against the summary's best reference."""
    if not isinstance(summary, str) or not summary.strip():
        raise ValueError("Give a summary to try to fool ROUGE with.")
    if dialogue is not None and not isinstance(dialogue, str):
        raise TypeError("The dialogue must be text.")
    best = overlap(summary, references)   # the same reference the highlight uses; refuses empty references
    reference = best["reference"]
    base = _scores(summary, reference)
    cases = [{"case": "summary", "label": LABELS["summary"], "text": summary, **base,
              "why": "The summary as the model wrote it: the scores to compare the other three with."}]

    shuffled = shuffled_words(summary, seed)
    case = _scores(shuffled, reference)
    cases.append({"case": "shuffled", "label": LABELS["shuffled"], "text": shuffled, **case,
                  "why": _why_shuffled(case, base, shuffled != " ".join(summary.split()))})

    word, in_reference, length = most_frequent_word(reference)
    repeated = " ".join([word] * length)
    case = _scores(repeated, reference)
    cases.append({"case": "repeated", "label": LABELS["repeated"], "text": repeated, "word": word,
                  "times": length, "in_reference": in_reference, **case,
                  "why": _why_repeated(case, word, in_reference, length)})

    if dialogue and dialogue.strip():
        case = _scores(dialogue, reference)
        cases.append({"case": "dialogue", "label": LABELS["dialogue"], "text": dialogue, **case,
                      "why": _why_dialogue(case, base)})
    return {"summary": summary, "reference": reference, "best_reference": best["best_reference"], "seed": seed,
            "cases": cases,
            "missing": [] if len(cases) == len(CASES) else ["dialogue"]}
