import csv
import json

import pytest

from studio.data.dialogsum import (
    DataError,
    browse,
    length_table,
    load_bundled,
    load_data,
    make_prompt,
    normalize_dialogue,
    resolve_data,
)


def test_bundled_sample_has_enough_dialogues_in_three_splits():
    data = load_bundled()
    sizes = {name: len(rows) for name, rows in data.splits.items()}
    assert sum(sizes.values()) >= 60
    assert sizes["train"] > sizes["test"] > 0 and sizes["validation"] > 0
    for ex in data.split("test"):
        assert 2 <= len(ex.references) <= 3, ex.id
    for ex in data.split("train"):
        assert ex.dialogue.startswith("#Person1#:") and ex.topic
    assert len(data.topics("train")) >= 10


def _write_csv(path, rows, columns=("id", "dialogue", "summary", "topic")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def test_hub_csv_layout_groups_repeated_dialogues(tmp_path):
    hello = "#Person1#: Hi.\n#Person2#: Hello."
    rows = [{"id": "t1", "dialogue": hello, "summary": "They greet.", "topic": "greeting"},
            {"id": "t1b", "dialogue": hello, "summary": "Two people say hello.", "topic": "greeting"},
            {"id": "t2", "dialogue": "#Person1#: Bye.", "summary": "One leaves.", "topic": "farewell"}]
    _write_csv(tmp_path / "test.csv", rows)
    _write_csv(tmp_path / "train.csv", rows[2:])
    data = load_data(str(tmp_path))
    assert data.summary() == {"splits": {"test": {"examples": 2, "references": 3},
                                         "train": {"examples": 1, "references": 1}}}
    assert data.split("test")[0].references == ["They greet.", "Two people say hello."]


def test_original_jsonl_layout_reads_three_references(tmp_path):
    (tmp_path / "dialogsum.train.jsonl").write_text(json.dumps(
        {"fname": "train_1", "dialogue": "#Person1#: A.", "summary": "S.", "topic": "t"}) + "\n")
    (tmp_path / "dialogsum.dev.jsonl").write_text(json.dumps(
        {"fname": "dev_1", "dialogue": "#Person1#: B.", "summary": "S2.", "topic": "t"}) + "\n")
    (tmp_path / "dialogsum.test.jsonl").write_text(json.dumps(
        {"fname": "test_1", "dialogue": "#Person1#: C.", "summary1": "R1.", "summary2": "R2.", "summary3": "R3.",
         "topic1": "x", "topic2": "y", "topic3": "z"}) + "\n")
    data = load_data(str(tmp_path))
    assert set(data.splits) == {"train", "validation", "test"}
    test = data.split("test")[0]
    assert (test.id, test.references, test.topic) == ("test_1", ["R1.", "R2.", "R3."], "x")


def test_single_file_needs_dialogue_and_summary(tmp_path):
    path = tmp_path / "mine.csv"
    _write_csv(path, [{"dialogue": "A: hi", "text": "x"}], columns=("dialogue", "text"))
    with pytest.raises(DataError, match="'summary'"):
        load_data(str(path))
    _write_csv(path, [{"summary": "x"}], columns=("summary",))
    with pytest.raises(DataError, match="'dialogue'"):
        load_data(str(path))


def test_single_file_is_split_and_other_columns_are_optional(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps({"dialogue": f"A: line {i}", "summary": f"S {i}"}) + "\n" for i in range(20)))
    data = load_data(str(path))
    sizes = {k: len(v) for k, v in data.splits.items()}
    assert sizes == {"train": 16, "validation": 2, "test": 2}
    ids = [ex.dialogue for rows in data.splits.values() for ex in rows]
    assert len(set(ids)) == 20  # nothing lost or duplicated across splits


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"\xff\xfe\x00bad", "not UTF-8"),
                                              (b"not json\n", "not JSON")])
def test_bad_files_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_data(str(path))


def test_too_large_file_is_refused(tmp_path, monkeypatch):
    import studio.data.dialogsum as dialogsum

    monkeypatch.setattr(dialogsum, "MAX_UPLOAD_BYTES", 100)
    path = tmp_path / "big.csv"
    path.write_text("dialogue,summary\n" + "a,b\n" * 100)
    with pytest.raises(DataError, match="limit"):
        load_data(str(path))


def test_missing_path_and_uncached_hub_dataset():
    with pytest.raises(DataError, match="No data file"):
        load_data("./nowhere/data.csv")
    with pytest.raises(DataError, match="prefetch"):
        load_data("someone/not-cached-dataset", offline=True)
    data, notice = resolve_data("someone/not-cached-dataset", explicit=False, offline=True)
    assert data.is_sample and "bundled sample" in notice
    with pytest.raises(DataError):
        resolve_data("someone/not-cached-dataset", explicit=True, offline=True)


def test_browse_filters_searches_and_pages():
    data = load_bundled()
    topic = data.topics("train")[0]
    rows, total = browse(data, "train", topic=topic)
    assert total == len([ex for ex in data.split("train") if ex.topic == topic]) and total > 0
    assert all(ex.topic == topic for ex in rows)
    word = data.split("train")[0].dialogue.split()[3].strip(".,?!").lower()
    rows, total = browse(data, "train", query=word.upper())
    assert total >= 1 and all(word in (ex.dialogue + " ".join(ex.references) + ex.topic).lower() for ex in rows)
    page0, total = browse(data, "train", page=0, page_size=5)
    page1, _ = browse(data, "train", page=1, page_size=5)
    assert len(page0) == 5 and page0[0].id != page1[0].id and total == len(data.split("train"))
    with pytest.raises(DataError, match="No split"):
        browse(data, "nope")


def test_length_table_counts_tokens_or_words():
    data = load_bundled()
    table = length_table(data, "test")
    assert len(table) == len(data.split("test"))
    first = data.split("test")[0]
    assert table.loc[0, "dialogue_length"] == len(first.dialogue.split())


def test_prompt_template_matches_the_course():
    assert make_prompt(" #Person1#: Hi. ") == "Summarize the following conversation.\n\n#Person1#: Hi.\n\nSummary: "


def test_normalize_keeps_dialogsum_turns():
    text = "#Person1#: Hello.\n\n#Person2#: Hi there."
    assert normalize_dialogue(text).text == "#Person1#: Hello.\n#Person2#: Hi there."


def test_normalize_maps_names_and_restores_them():
    norm = normalize_dialogue("Anna: Can you come at 5?\r\nBen: Sure.\nAnna: Great, see you.")
    assert norm.text == "#Person1#: Can you come at 5?\n#Person2#: Sure.\n#Person1#: Great, see you."
    assert norm.restore_names("#Person1# asks #Person2# to come at 5.") == "Anna asks Ben to come at 5."


def test_normalize_plain_lines_alternate_and_strips_control_characters():
    norm = normalize_dialogue("are you coming tonight\x00\nyes, at eight \u202eok\x07")
    assert norm.text == "#Person1#: are you coming tonight\n#Person2#: yes, at eight \u202eok"


def test_normalize_rejects_empty():
    for text in ("", "   \n\t  ", "\x00\x01"):
        with pytest.raises(ValueError, match="empty"):
            normalize_dialogue(text)
