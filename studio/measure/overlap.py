"""ROUGE you can see: which summary words a ROUGE score counted, marked on the words as shown.

    result = overlap(summary, [reference, ...])
    result["tokens"]        # [{text, token, start, end, unigram, bigram, lcs}, ...] in summary order
    result["rouge1"]        # {precision, recall, fmeasure} against result["best_reference"]
    spans = highlight_spans(summary, result["tokens"], "unigram")   # [(text, label or None), ...]
    novelty = copied_words(summary, dialogue)   # which words came from the dialogue, share of new ones

The marks are a picture of the score, not an approximation of it: tokens come
from rouge_score's own tokenizer and Porter stemmer (lowercase, runs of a-z/0-9,
words over three letters stemmed, so "running" and "runs" both read "run"), and
repeated words are clipped as ROUGE clips them. So, for the summary's tokens:
  - the share marked `unigram` is ROUGE-1 precision,
  - the number of bigrams whose two tokens are marked as a matched pair is
    ROUGE-2's overlap count (precision x (tokens - 1)),
  - the number marked `lcs` is the length of the longest common subsequence
    (so their share is ROUGE-L precision).
Characters rouge_score ignores (punctuation, "#", accents) stay in the shown
text, unmarked.

Best reference: studio.evaluation scores each metric against whichever reference
suits that metric best (rouge_score's score_multi). A highlight needs one
reference for all three views, so here the best is chosen by ROUGE-L F1 (the
first one on a tie, as score_multi breaks ties); ROUGE-1/2 are reported against
that same reference, and can be below the evaluation's per-metric best.
"""
from __future__ import annotations

import itertools
import re
from collections import Counter

from studio.measure.evaluation import scorer

VIEWS = ("unigram", "bigram", "lcs")
LEGEND = {"unigram": "shared word (ROUGE-1)",
          "bigram": "shared word pair (ROUGE-2)",
          "lcs": "longest common subsequence (ROUGE-L)",
          "copied": "copied from the dialogue",
          "new": "new word, not in the dialogue"}

_ALNUM_RUN = re.compile(r"[a-z0-9]+")
_VALID_TOKEN = re.compile(r"^[a-z0-9]+$")


def tokens_with_positions(text: str) -> list[dict]:
    """rouge_score's tokens of `text`, each with the slice of `text` it came from.

    Mirrors rouge_score.tokenize.tokenize step by step (lower-case, split on
    anything but a-z/0-9, stem words longer than 3 characters, drop invalid),
    keeping, for every lower-cased character, the original character it came from.
    """
    lowered, origin = [], []
    for i, ch in enumerate(text):
        for low in ch.lower():  # a few characters lower-case to two (e.g. "İ")
            lowered.append(low)
            origin.append(i)
    lowered_text = "".join(lowered)
    stemmer = scorer()._tokenizer._stemmer  # the very stemmer the studio's ROUGE uses
    out = []
    for match in _ALNUM_RUN.finditer(lowered_text):
        word = match.group()
        token = stemmer.stem(word) if stemmer is not None and len(word) > 3 else word
        if not _VALID_TOKEN.match(token):
            continue  # rouge_score drops it, so it stays unmarked
        start, end = origin[match.start()], origin[match.end() - 1] + 1
        out.append({"text": text[start:end], "token": token, "start": start, "end": end})
    return out


def _lcs_pairs(summary: list[str], reference: list[str]) -> list[tuple[int, int]]:
    """One longest common subsequence, as (summary index, reference index) pairs.

    Traced from the front on a table of suffix LCS lengths, so among equally long
    ones it prefers the earliest summary words (what a reader expects to see marked).
    """
    rows, cols = len(reference), len(summary)
    suffix = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            if reference[i] == summary[j]:
                suffix[i][j] = suffix[i + 1][j + 1] + 1
            else:
                suffix[i][j] = max(suffix[i + 1][j], suffix[i][j + 1])
    pairs = []
    i = j = 0
    while i < rows and j < cols:
        if reference[i] == summary[j]:
            pairs.append((j, i))
            i, j = i + 1, j + 1
        elif suffix[i + 1][j] >= suffix[i][j + 1]:
            i += 1  # skip a reference word first: keeps the earlier summary word in play
        else:
            j += 1
    return pairs


def mark_tokens(summary: list[str], reference: list[str]) -> dict:
    """Unigram, bigram and LCS marks for each summary token, clipped as ROUGE counts.

    Returns {"unigram": [bool], "bigram": [bool], "lcs": [bool], "bigram_matches": int}.
    """
    n = len(summary)
    lcs = [False] * n
    for j, _ in _lcs_pairs(summary, reference):
        lcs[j] = True

    # Bigrams: an n-gram type counts min(times in summary, times in reference); mark that many
    # occurrences, left to right, and both tokens of each.
    ref_bigrams = Counter(itertools.pairwise(reference))
    bigram = [False] * n
    bigram_matches = 0
    left = Counter(ref_bigrams)
    for j in range(n - 1):
        pair = (summary[j], summary[j + 1])
        if left[pair] > 0:
            left[pair] -= 1
            bigram_matches += 1
            bigram[j] = bigram[j + 1] = True

    # Unigrams: a word counts min(times in summary, times in reference). Which occurrences get the
    # marks is free; LCS tokens first (so every LCS mark is also a unigram mark), then bigram
    # tokens, then left to right.
    quota = Counter(reference)
    unigram = [False] * n
    for preferred in (lcs, bigram, [True] * n):
        for j in range(n):
            if preferred[j] and not unigram[j] and quota[summary[j]] > 0:
                quota[summary[j]] -= 1
                unigram[j] = True
    return {"unigram": unigram, "bigram": bigram, "lcs": lcs, "bigram_matches": bigram_matches}


def _score_dict(score) -> dict:
    return {"precision": float(score.precision), "recall": float(score.recall), "fmeasure": float(score.fmeasure)}


def overlap(summary: str, references: list[str] | str) -> dict:
    """The summary's tokens marked against its best reference, with that reference's ROUGE.

    Shaped for `python -m studio overlap --json`: tokens, best_reference (index into
    `references` as given), rouge1 / rouge2 / rougeL, and counts behind them.
    """
    if isinstance(references, str):
        references = [references]
    if summary is None or not isinstance(summary, str):
        raise TypeError("The summary must be text.")
    candidates = [(i, r) for i, r in enumerate(references) if isinstance(r, str) and r.strip()]
    if not candidates:
        raise ValueError("Give at least one non-empty reference summary to compare with.")
    scored = [(i, r, scorer().score(r, summary)) for i, r in candidates]
    best_at = max(range(len(scored)), key=lambda k: (scored[k][2]["rougeL"].fmeasure, -k))
    best_index, best_text, scores = scored[best_at]

    shown = tokens_with_positions(summary)
    summary_tokens = [t["token"] for t in shown]
    reference_tokens = [t["token"] for t in tokens_with_positions(best_text)]
    marks = mark_tokens(summary_tokens, reference_tokens)
    tokens = [{**t, **{view: marks[view][k] for view in VIEWS}} for k, t in enumerate(shown)]
    return {
        "summary": summary,
        "reference": best_text,
        "best_reference": best_index,
        "tokens": tokens,
        "rouge1": _score_dict(scores["rouge1"]),
        "rouge2": _score_dict(scores["rouge2"]),
        "rougeL": _score_dict(scores["rougeL"]),
        "counts": {"summary_tokens": len(tokens), "reference_tokens": len(reference_tokens),
                   "unigram": sum(marks["unigram"]), "bigram_matches": marks["bigram_matches"],
                   "lcs": sum(marks["lcs"])},
    }


def copied_words(summary: str, dialogue: str) -> dict:
    """Which summary tokens also occur in the dialogue (same tokenizer and stemmer), and the share of new ones.

    A word counts as copied if its stem appears anywhere in the dialogue; no clipping,
    since the question is "did the model invent this word", not "how often".
    """
    if not isinstance(summary, str) or not isinstance(dialogue, str):
        raise TypeError("The summary and the dialogue must be text.")
    if not dialogue.strip():
        raise ValueError("Give the dialogue the summary was written from.")
    seen = {t["token"] for t in tokens_with_positions(dialogue)}
    tokens = [{**t, "copied": t["token"] in seen, "new": t["token"] not in seen}
              for t in tokens_with_positions(summary)]
    new = sum(t["new"] for t in tokens)
    return {"summary": summary, "tokens": tokens, "new_words": new, "copied_words": len(tokens) - new,
            "new_share": new / len(tokens) if tokens else 0.0, **repetition([t["token"] for t in tokens])}


# A summary of at least this many words, at most half of them distinct, is repeating itself
# ("a a a a ..."): its share of new words then says nothing about copying or rephrasing.
REPEAT_MIN_WORDS = 4
REPEAT_DISTINCT_SHARE = 0.5


def repetition(tokens: list[str]) -> dict:
    """distinct_words, the most repeated word and its count, and `repeats`: the summary is degenerate."""
    counts = Counter(tokens)
    top, times = counts.most_common(1)[0] if counts else ("", 0)
    repeats = len(tokens) >= REPEAT_MIN_WORDS and len(counts) <= REPEAT_DISTINCT_SHARE * len(tokens)
    return {"distinct_words": len(counts), "most_repeated": top, "most_repeated_times": times, "repeats": repeats}


def highlight_spans(summary: str, tokens: list[dict], view: str, label: str | None = None) -> list[tuple]:
    """The whole summary as (text, label or None) pieces, for a highlighted-text view.

    A token whose `view` flag is set gets `label` (by default the legend entry for the
    view); whitespace between two labelled tokens is labelled too, so a matched phrase
    reads as one highlight. Joining the texts gives back `summary` exactly.
    """
    if view not in LEGEND:
        raise ValueError(f"Unknown highlight {view!r}; choose one of {', '.join(LEGEND)}.")
    label = label or LEGEND[view]
    pieces: list[list] = []
    position, previous_marked = 0, False
    for token in tokens:
        marked = bool(token[view])
        gap = summary[position:token["start"]]
        add_piece(pieces, gap, label if marked and previous_marked and gap.isspace() else None)
        add_piece(pieces, summary[token["start"]:token["end"]], label if marked else None)
        position, previous_marked = token["end"], marked
    add_piece(pieces, summary[position:], None)
    return [tuple(p) for p in pieces]


def add_piece(pieces: list[list], text: str, label) -> None:
    """Append `text` to a highlighted-text list of [text, label] pieces, joining it to a last piece of its label."""
    if not text:
        return
    if pieces and pieces[-1][1] == label:
        pieces[-1][0] += text
    else:
        pieces.append([text, label])
