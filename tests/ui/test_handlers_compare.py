"""studio/ui/handlers/compare.py: the Compare tab's four columns and their notes."""
import pytest

from studio.model.methods import registry
from studio.ui.handlers import compare as hc
from studio.ui.handlers.common import NONE, SKIP


def test_compare_without_runs_says_how_to_get_one(studio):
    columns = hc.compare(studio, "Anna: Lunch at noon?\nBen: Sure.", {"full": NONE, "lora": None, "prompt": ""},
                         hc.generation_settings(16, 1))
    assert [c.title for c in columns] == ["Original", *registry.LABELS.values()]
    assert [c.title for c in columns][:4] == ["Original", "Full fine-tuning", "LoRA", "Prompt tuning"]
    assert columns[0].text and " s" in columns[0].info
    for column, method in zip(columns[1:], registry.METHODS):
        assert column.text == ""
        # `prepare` trains the default methods; a method offered beside them is trained in the Train tab only.
        hint = "Train one in the Train tab, or run `python -m studio prepare`" if method.by_default else \
            "Train one in the Train tab."
        assert hint in column.info
    assert hc.column_notes(studio, {"full": NONE, "lora": NONE, "prompt": NONE})[3].startswith(
        "No Prompt tuning run yet")


def test_compare_fills_four_columns_and_scores_against_a_reference(trained):
    studio, runs = trained.studio, trained.runs
    example = studio.data.split("test")[0]
    refs = hc.references_for(example.dialogue, {"dialogue": example.dialogue, "references": example.references})
    columns = hc.compare(studio, example.dialogue, runs, hc.generation_settings(16, 1), refs)
    assert all(column.text for column in columns)
    assert all("ROUGE-L" in column.info for column in columns)
    assert runs["lora"] in columns[2].info  # which run made it


def test_a_skipped_column_says_so_and_loads_nothing(trained):
    studio, runs = trained.studio, trained.runs
    # "skip" from the dropdown, "none" from a script: both leave the column out.
    columns = hc.compare(studio, "Anna: Lunch at noon?\nBen: Sure.", {**runs, "full": SKIP, "prompt": NONE},
                        hc.generation_settings(8, 1))
    for column in (columns[1], columns[3]):
        assert column.text == "" and column.info.startswith("Skipped: pick a run above")
    assert columns[2].text and runs["lora"] in columns[2].info
    notes = hc.column_notes(studio, {**runs, "full": SKIP})
    assert notes[1].startswith("Skipped") and notes[2] == ""


def test_compare_survives_a_deleted_or_mismatched_run(trained):
    studio, runs = trained.studio, trained.runs
    picks = {"full": "full-19990101-000000-dead", "lora": runs["prompt"], "prompt": runs["prompt"]}
    columns = hc.compare(studio, "Hi.\nHello.", picks, hc.generation_settings(8, 1))
    assert "gone" in columns[1].info and "not a LoRA run" in columns[2].info
    assert columns[3].text


def test_references_apply_to_the_sent_dialogue_and_small_edits_of_it():
    sent = {"dialogue": "A: hi\nB: hello", "references": ["Two people greet."]}
    assert hc.references_for("A: hi\nB: hello\n", sent) == ["Two people greet."]
    # One word edited: the reference is kept (the page says it may no longer match) ...
    assert hc.references_for("A: hi\nB: bye", sent) == ["Two people greet."]
    # ... another dialogue altogether drops it.
    assert hc.references_for("Chris: The train is late again.", sent) is None
    assert hc.references_for("anything", None) is None


def test_sent_change_tells_an_edit_from_another_dialogue(studio):
    example = studio.data.split("test")[0]
    sent = {"dialogue": example.dialogue, "references": example.references}
    words = example.dialogue.split()
    assert hc.sent_change(example.dialogue + "\n", sent) == hc.SentChange("same", 0, len(words))
    edited = example.dialogue.replace(words[3], "zebra", 1)
    change = hc.sent_change(edited, sent)
    assert (change.state, change.changed, change.words) == ("edited", 1, len(words))
    other = studio.data.split("test")[1].dialogue
    assert hc.sent_change(other, sent).state == "replaced"
    assert hc.sent_change(example.dialogue, None).state == "none"
    assert hc.sent_change(None, sent).state == "none"


def test_an_edited_dialogue_is_still_scored_against_its_reference(trained):
    studio, runs = trained.studio, trained.runs
    example = studio.data.split("test")[0]
    sent = {"dialogue": example.dialogue, "references": example.references}
    edited = example.dialogue.replace(example.dialogue.split()[3], "zebra", 1)
    columns = hc.compare(studio, edited, runs, hc.generation_settings(8, 1), hc.references_for(edited, sent))
    assert all("ROUGE-L" in column.info for column in columns)


@pytest.mark.parametrize("tokens,beams", [(0, 1), (999, 1), (64, 0), (64, 2.5), (None, 1)])
def test_generation_settings_are_checked(tokens, beams):
    with pytest.raises(ValueError):
        hc.generation_settings(tokens, beams)


def test_compare_refuses_an_empty_dialogue(studio):
    with pytest.raises(ValueError, match="empty"):
        hc.compare(studio, "   ", {}, hc.generation_settings(8, 1))


def test_sample_dialogues_come_in_the_formats_people_paste(studio):
    samples = hc.example_dialogues(studio.data)
    assert len(samples) == 3
    assert samples[0][1].startswith("Anna:") and "#Person" not in samples[0][1]
    assert "#Person" not in samples[1][1] and ":" not in samples[1][1].splitlines()[0][:12]
    assert samples[2][1].startswith("#Person1#:")


def test_the_summaries_source_follows_new_summaries_and_keeps_their_dialogue_otherwise():
    first = hc.summaries_source(["A summary."], "Dialogue one", {})
    assert first == {"texts": ["A summary."], "dialogue": "Dialogue one"}
    assert hc.summaries_source(["A summary."], "Edited since", first) == first           # same summaries
    assert hc.summaries_source(["Another."], "Edited since", first)["dialogue"] == "Edited since"
    assert hc.summaries_source(["A summary."], "Dialogue two", "not a record")["dialogue"] == "Dialogue two"
