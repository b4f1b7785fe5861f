"""DialogSum and friends: loading, grouping references, browsing, statistics.

    data = load_data("bundled")                    # or a hub id, a folder, one CSV/JSONL file
    data.splits["test"][0].references              # every reference summary of one dialogue
    rows, total = browse(data, "train", topic="shopping", query="refund", page=0)
    prompt = make_prompt(normalize_dialogue("Anna: hi\\nBen: hello").text)

Sources: the hub (`knkarthick/dialogsum`, CSV columns id, dialogue, summary,
topic), a local folder in that CSV layout or in the original JSONL layout
(`dialogsum.{train,dev,test}.jsonl`; its test split has summary1..3), a single
CSV/JSONL file a user brings, or the sample dialogues bundled in `studio/data/assets/`.
Rows that repeat one dialogue become one Example holding all its references.
"""
from __future__ import annotations

import csv
import io
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from studio.config.settings import DEFAULT_DATA, MAX_UPLOAD_BYTES
from studio.data.assets import SAMPLE_DIALOGUES, read_text

PROMPT_TEMPLATE = "Summarize the following conversation.\n\n{dialogue}\n\nSummary: "
SPLITS = ("train", "validation", "test")
_JSONL_SPLIT_FILES = {"train": "dialogsum.train.jsonl", "validation": "dialogsum.dev.jsonl",
                      "test": "dialogsum.test.jsonl"}


class DataError(ValueError):
    """A data source that cannot be used, with a message a user can act on."""


@dataclass
class Example:
    id: str
    dialogue: str
    references: list[str]
    topic: str = ""

    @property
    def references_text(self) -> str:
        """Every reference as one text: alone when there is one, numbered one per line when there are several."""
        if len(self.references) == 1:
            return self.references[0]
        return "\n".join(f"{n}. {text}" for n, text in enumerate(self.references, start=1))


@dataclass
class DialogData:
    splits: dict[str, list[Example]]
    source: str                     # what was asked for ("bundled", a hub id, a path)
    description: str = ""           # one line for the UI: where the rows came from
    is_sample: bool = False         # True for the bundled stand-in dialogues

    def split(self, name: str) -> list[Example]:
        if name not in self.splits:
            raise DataError(f"No split {name!r}; this dataset has {', '.join(self.splits)}.")
        return self.splits[name]

    def topics(self, split: str) -> list[str]:
        return sorted({ex.topic for ex in self.split(split) if ex.topic})

    def summary(self) -> dict:
        return {"splits": {name: {"examples": len(rows),
                                  "references": sum(len(ex.references) for ex in rows)}
                           for name, rows in self.splits.items()}}


def make_prompt(dialogue: str) -> str:
    return PROMPT_TEMPLATE.format(dialogue=dialogue.strip())


# --------------------------------------------------------------------------- loading

def load_data(source: str = DEFAULT_DATA, offline: bool = False) -> DialogData:
    """Load a data source; raises DataError with a clear message when it cannot."""
    source = (source or "").strip()
    if source in ("", "bundled", "sample"):
        return load_bundled()
    path = Path(source).expanduser()
    if path.is_dir():
        return _load_folder(path)
    if path.is_file():
        return load_file(path)
    if source.startswith((".", "/", "~")) or source.endswith((".csv", ".jsonl", ".json")):
        raise DataError(f"No data file or folder at {source}.")
    return _load_hub(source, offline)


def resolve_data(source: str, explicit: bool, offline: bool) -> tuple[DialogData, str | None]:
    """Load `source`; when the default dataset cannot be had, the bundled sample and a notice.

    A source somebody named explicitly is never swapped: its DataError propagates.
    """
    try:
        return load_data(source, offline=offline), None
    except DataError as exc:
        if explicit:
            raise
        notice = (f"The DialogSum dataset is not available ({exc}). Using the bundled sample dialogues "
                  "instead; run `python -m studio prefetch` while online to cache it.")
        return load_bundled(), notice


def load_bundled() -> DialogData:
    rows = [json.loads(line) for line in read_text(SAMPLE_DIALOGUES).splitlines() if line.strip()]
    splits: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for row in rows:
        splits[row["split"]].append(Example(row["id"], row["dialogue"], list(row["summaries"]), row["topic"]))
    return DialogData(splits, "bundled", f"{len(rows)} sample dialogues bundled with the studio",
                      is_sample=True)


def _load_hub(repo_id: str, offline: bool) -> DialogData:
    import datasets  # imported here: slow, and not needed for local sources

    try:
        if offline:
            datasets.config.HF_HUB_OFFLINE = True  # use the local cache, never the network
        loaded = datasets.load_dataset(repo_id)
    except Exception as exc:  # datasets raises many types for "not reachable / not cached"
        hint = " (offline and not cached: run `python -m studio prefetch` while online)" if offline else ""
        raise DataError(f"Could not load dataset {repo_id!r}{hint}: {type(exc).__name__}: {exc}") from exc
    splits = {}
    for name, ds in loaded.items():
        split = "validation" if name in ("dev", "valid") else name
        splits[split] = group_rows(ds.to_list(), f"{repo_id}:{name}")
    return DialogData(splits, repo_id, f"{repo_id} from the Hugging Face hub")


def _load_folder(folder: Path) -> DialogData:
    csvs = {name: folder / f"{name}.csv" for name in SPLITS}
    if any(p.exists() for p in csvs.values()):
        splits = {name: group_rows(_read_rows(p), p.name) for name, p in csvs.items() if p.exists()}
        return DialogData(splits, str(folder), f"CSV files in {folder}")
    jsonls = {name: folder / fname for name, fname in _JSONL_SPLIT_FILES.items()}
    if any(p.exists() for p in jsonls.values()):
        splits = {name: group_rows(_read_rows(p), p.name) for name, p in jsonls.items() if p.exists()}
        return DialogData(splits, str(folder), f"DialogSum JSONL files in {folder}")
    raise DataError(f"{folder} holds neither train/validation/test.csv nor dialogsum.*.jsonl files.")


def load_file(path: Path, seed: int = 0) -> DialogData:
    """One CSV or JSONL file a user brings: split by its `split` column, else 80/10/10."""
    rows = _read_rows(Path(path))
    if rows and "split" in rows[0]:
        by_split: dict[str, list[dict]] = {}
        for row in rows:
            name = {"dev": "validation", "valid": "validation"}.get(row["split"], row["split"])
            by_split.setdefault(name, []).append(row)
        splits = {name: group_rows(r, Path(path).name) for name, r in by_split.items()}
    else:
        examples = group_rows(rows, Path(path).name)
        order = list(range(len(examples)))
        random.Random(seed).shuffle(order)
        n_test = max(1, len(order) // 10) if len(order) >= 3 else 0
        n_val = max(1, len(order) // 10) if len(order) >= 10 else 0
        pick = lambda idx: [examples[i] for i in sorted(idx)]  # noqa: E731 - keeps file order inside a split
        splits = {"train": pick(order[n_test + n_val:]) or pick(order),
                  "validation": pick(order[n_test:n_test + n_val]),
                  "test": pick(order[:n_test]) or pick(order)}
    return DialogData(splits, str(path), f"{sum(map(len, splits.values()))} dialogues from {Path(path).name}")


def json_lines(text: str, name: str) -> list[dict]:
    """The JSON objects of a JSON Lines text, blank lines skipped; DataError names the line that is not one."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name} line {number} is not JSON: {exc.msg}.") from None
        if not isinstance(row, dict):
            raise DataError(f"{name} line {number} is not a JSON object.")
        rows.append(row)
    return rows


def _read_rows(path: Path) -> list[dict]:
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise DataError(f"{path.name} is {size:,} bytes; the limit is {MAX_UPLOAD_BYTES // 2**20} MB "
                        f"({MAX_UPLOAD_BYTES:,} bytes).")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
    if not text.strip():
        raise DataError(f"{path.name} is empty.")
    if path.suffix.lower() in (".jsonl", ".json"):
        rows = json_lines(text, path.name)
    elif path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        raise DataError(f"{path.name}: use a .csv or .jsonl file.")
    if not rows:
        raise DataError(f"{path.name} has no rows.")
    return rows


def group_rows(rows: list[dict], where: str) -> list[Example]:
    """Rows -> Examples; rows sharing one dialogue merge into one Example with all references."""
    if not rows:
        return []
    columns = set().union(*(r.keys() for r in rows))
    if "dialogue" not in columns:
        raise DataError(f"{where} lacks a 'dialogue' column (found: {', '.join(sorted(columns))}).")
    if "summary" not in columns and "summary1" not in columns:
        raise DataError(f"{where} lacks a 'summary' column (found: {', '.join(sorted(columns))}).")
    examples: dict[str, Example] = {}
    for number, row in enumerate(rows):
        dialogue = str(row.get("dialogue") or "").strip()
        references = [str(row[k]).strip() for k in ("summary", "summary1", "summary2", "summary3")
                      if row.get(k) and str(row[k]).strip()]
        if not dialogue or not references:
            continue  # a row without text cannot train or score anything
        topic = str(row.get("topic") or row.get("topic1") or "").strip()
        ex = examples.get(dialogue)
        if ex is None:
            ex_id = str(row.get("id") or row.get("fname") or f"{where}-{number}")
            examples[dialogue] = Example(ex_id, dialogue, references, topic)
        else:
            ex.references.extend(r for r in references if r not in ex.references)
    if not examples:
        raise DataError(f"{where} has no row with both a dialogue and a summary.")
    return list(examples.values())


# --------------------------------------------------------------------------- browsing

def browse(data: DialogData, split: str, topic: str | None = None, query: str | None = None,
           page: int = 0, page_size: int = 10) -> tuple[list[Example], int]:
    """One page of a split after filtering; returns (rows, number of matching rows)."""
    rows = data.split(split)
    if topic:
        rows = [ex for ex in rows if ex.topic == topic]
    if query and query.strip():
        needle = query.strip().lower()
        rows = [ex for ex in rows if needle in ex.dialogue.lower()
                or any(needle in r.lower() for r in ex.references) or needle in ex.topic.lower()]
    page_size = max(1, int(page_size))
    page = max(0, int(page))
    return rows[page * page_size:(page + 1) * page_size], len(rows)


def length_table(data: DialogData, split: str, tokenizer=None):
    """A pandas table of dialogue and summary lengths (tokens when a tokenizer is given, else words)."""
    import pandas as pd

    rows = data.split(split)
    if tokenizer is not None:
        count = lambda texts: [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]  # noqa: E731
    else:
        count = lambda texts: [len(t.split()) for t in texts]  # noqa: E731
    return pd.DataFrame({
        "id": [ex.id for ex in rows],
        "topic": [ex.topic for ex in rows],
        "dialogue_length": count([ex.dialogue for ex in rows]) if rows else [],
        "summary_length": count([ex.references[0] for ex in rows]) if rows else [],
        "turns": [ex.dialogue.count("\n") + 1 for ex in rows],
    })


# --------------------------------------------------------------------------- pasted dialogues

_PERSON_TAG = re.compile(r"^#Person(\d+)#\s*:\s*(.*)$")
_SPEAKER = re.compile(r"^([^\W\d_][\w .'\-]{0,30}?)\s*:\s*(.+)$")


@dataclass
class NormalizedDialogue:
    text: str                                     # in DialogSum's #PersonN#: form
    speakers: dict[str, str] = field(default_factory=dict)  # "#Person1#" -> "Anna"

    def restore_names(self, summary: str) -> str:
        """Put the speakers' own names back into a summary written with #PersonN# tags."""
        # Longest tag first, so #Person1# never eats the front of #Person12#.
        for tag in sorted(self.speakers, key=len, reverse=True):
            summary = summary.replace(tag, self.speakers[tag])
        return summary


def clean_text(text: str) -> str:
    """Drop NULs and control characters (keeping newlines and tabs), normalise line ends."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
                   or unicodedata.category(ch) == "Cf" and ch not in "\u200b\ufeff")


def normalize_dialogue(text: str) -> NormalizedDialogue:
    """Accept `#Person1#: ...`, `Anna: ...` or plain alternating lines; return DialogSum form.

    The model was tuned on `#Person1#:` turns, so named speakers are mapped to tags in
    order of appearance, and `restore_names` maps the summary back.
    """
    lines = [line.strip() for line in clean_text(text).split("\n") if line.strip()]
    if not lines:
        raise ValueError("The dialogue is empty.")
    if all(_PERSON_TAG.match(line) for line in lines):
        return NormalizedDialogue("\n".join(lines))
    named = [_SPEAKER.match(line) for line in lines]
    if sum(m is not None for m in named) >= max(1, len(lines) // 2):
        tags: dict[str, str] = {}
        turns = []
        for line, match in zip(lines, named, strict=True):
            if match is None:  # a continuation line belongs to the previous turn
                if turns:
                    turns[-1] += " " + line
                    continue
                turns.append(line)
                continue
            name, said = match.group(1).strip(), match.group(2).strip()
            if _PERSON_TAG.match(line):
                turns.append(line)
                continue
            tag = tags.setdefault(name, f"#Person{len(tags) + 1}#")
            turns.append(f"{tag}: {said}")
        return NormalizedDialogue("\n".join(turns), {tag: name for name, tag in tags.items()})
    # Plain lines: assume two people taking turns.
    return NormalizedDialogue("\n".join(f"#Person{i % 2 + 1}#: {line}" for i, line in enumerate(lines)))
