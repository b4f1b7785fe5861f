"""studio/assets: the bundled sample dialogues are distinct and consistent; Compare offers the first few."""
from __future__ import annotations

import json
import re

from studio.data.assets import SAMPLE_DIALOGUES, read_text
from studio.data.dialogsum import load_bundled

# The Compare tab rewrites the first test dialogue with these speaker names (studio/ui/handlers/compare.py).
STAND_IN_NAMES = ("Anna", "Ben", "Chris", "Dana")


def _rows():
    return [json.loads(line) for line in read_text(SAMPLE_DIALOGUES).splitlines() if line.strip()]


def test_every_row_has_the_same_fields_and_a_unique_id():
    rows = _rows()
    assert {tuple(row) for row in rows} == {("id", "split", "topic", "dialogue", "summaries")}
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert row["id"].startswith(f"sample-{row['split']}-"), row["id"]


def test_the_sample_buttons_have_distinct_topics():
    first = load_bundled().split("test")[:3]
    topics = [ex.topic for ex in first]
    assert len(set(topics)) == 3, topics


def test_the_dialogue_shown_with_stand_in_names_names_nobody_itself():
    # "Ben: My name is Priya Shah" came from naming speakers in a dialogue that already names them.
    dialogue = load_bundled().split("test")[0].dialogue
    assert not re.search(r"(?i:\bmy name is\b)|\bthis is [A-Z][a-z]+|\bI'm [A-Z][a-z]+", dialogue)
    assert not any(re.search(rf"\b{name}\b", dialogue) for name in STAND_IN_NAMES)
    assert not re.search(r"\b(Mr|Mrs|Ms|Dr)\.", dialogue)


def test_summaries_mention_only_speakers_who_are_in_the_dialogue():
    for row in _rows():
        speakers = set(re.findall(r"#Person\d+#", row["dialogue"]))
        for summary in row["summaries"]:
            assert set(re.findall(r"#Person\d+#", summary)) <= speakers, row["id"]
