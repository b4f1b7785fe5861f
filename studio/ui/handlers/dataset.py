"""The Dataset tab: pages, search and statistics."""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import pandas as pd

from studio.config.declare import parse, setting
from studio.data.dialogsum import DialogData, Example, browse, length_table
from studio.ui.plots import length_figure, topic_figure

from .common import ALL_TOPICS, PAGE_SIZE, plain


@dataclass
class PageRequest:
    page: int = setting(1, "which page of dialogues", name="page number", low=1, high=10**9)


@dataclass
class DatasetPage:
    examples: list[Example]
    page: int            # 0-based, clamped to what exists
    pages: int
    total: int

    @property
    def caption(self) -> str:
        if not self.total:
            return "No dialogues match."
        first = self.page * PAGE_SIZE + 1
        return (f"Page {self.page + 1} of {self.pages} · dialogues {first}–{first + len(self.examples) - 1} "
                f"of {self.total:,}")


def dataset_page(data: DialogData, split: str, topic: str | None, query: str | None, page) -> DatasetPage:
    topic = None if topic in (None, "", ALL_TOPICS) else topic
    query = (query or "")[:200]
    page = parse(PageRequest, "page", page, blank=1) - 1
    _, total = browse(data, split, topic, query, 0, 1)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages - 1)
    rows, _ = browse(data, split, topic, query, page, PAGE_SIZE)
    return DatasetPage(rows, page, pages, total)


def checked_page(value, shown_page) -> tuple[int, str]:
    """(page to show, "") for a good page number; (the page already shown, why not) for a bad one.

    The box then shows a page that exists, never the refused value, and the person gets the
    same kind of message as for any other bad input.
    """
    try:
        return parse(PageRequest, "page", value, blank=1), ""
    except ValueError as exc:
        try:
            current = parse(PageRequest, "page", shown_page, blank=1)
        except ValueError:
            current = 1
        return current, str(exc)


def example_title(ex: Example) -> str:
    count = len(ex.references)
    references = f"{count} reference summar{'y' if count == 1 else 'ies'}"
    return f"**{plain(ex.topic or 'no topic')}** · {plain(ex.id)} · {references}"


def find_example(data: DialogData, split: str, example_id: str) -> Example:
    for ex in data.split(split):
        if ex.id == example_id:
            return ex
    raise ValueError("That dialogue is no longer on this page; reload the page.")


class DatasetStats:
    """Token-length tables per split, computed once: tokenizing a whole split takes a second or two."""

    def __init__(self, data: DialogData, tokenizer_path: str | None):
        self.data = data
        self.tokenizer_path = tokenizer_path
        self._tables: dict[str, pd.DataFrame] = {}
        self._tokenizer = None
        self.unit = "tokens"
        self._lock = threading.Lock()

    def _load_tokenizer(self):
        if self._tokenizer is None and self.tokenizer_path:
            try:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_path)
            except Exception:  # no tokenizer here: count words instead, and say so on the axis
                self.tokenizer_path, self.unit = None, "words"
        if self._tokenizer is None:
            self.unit = "words"
        return self._tokenizer

    def table(self, split: str) -> pd.DataFrame:
        with self._lock:
            if split not in self._tables:
                self._tables[split] = length_table(self.data, split, self._load_tokenizer())
            return self._tables[split]

    def figures(self, split: str, topic: str | None, query: str | None):
        table = self.table(split)
        topic = None if topic in (None, "", ALL_TOPICS) else topic
        if topic or (query or "").strip():
            rows, _ = browse(self.data, split, topic, (query or "")[:200], 0, 10**9)
            table = table[table["id"].isin({ex.id for ex in rows})]
        return length_figure(table, unit=self.unit), topic_figure(table)
