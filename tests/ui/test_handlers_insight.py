"""Handlers of the insight views (overlap, prompt readout, forgetting, topic groups): plain Python, no browser."""
import pytest

from studio.evaluation import scorer
from studio.forgetting import load_probe
from studio.overlap import LEGEND
from studio.prompt_readout import CAVEAT
from studio.runs import RunNotFound
from studio.ui import handlers as h

# ------------------------------------------------------------------ overlap (Compare)

def test_overlap_columns_mark_what_rouge_counted(studio):
    summaries = ["Anna invites Ben to dinner at eight.", "", "Ben will cook pasta for Anna.", None]
    reference = "Anna invites Ben to dinner; he will cook."
    dialogue = "Anna: Ben, dinner at eight?\nBen: Sure, I will cook pasta."
    columns = h.overlap_columns(studio, summaries, reference, dialogue, "unigram")
    assert len(columns) == 4
    assert columns[1] == h.OverlapColumn(None, "", None, "") and columns[3].spans is None
    first = columns[0]
    assert "".join(piece for piece, _ in first.spans) == summaries[0]   # the whole summary, nothing lost
    marked = [piece.strip() for piece, label in first.spans if label]
    assert marked == ["Anna invites Ben to dinner"]
    expected = scorer().score(reference, summaries[0])
    assert f"ROUGE-1 **{100 * expected['rouge1'].fmeasure:.1f}**" in first.score
    assert "5 of 7 words marked" in first.score and f"{100 * expected['rouge1'].precision:.1f}" in first.score
    # Copied vs new: "invites" and "Anna"... every word but "invites" and "to" is in the dialogue.
    new = [piece.strip() for piece, label in first.copied if label == LEGEND["new"]]
    assert new == ["invites", "to"]
    assert "**29% new words** (2 of 7" in first.novelty


def test_overlap_views_switch_and_bigram_counts_pairs(studio):
    summary, reference = "the cat sat on the mat", "the cat lay on the mat"
    bigram = h.overlap_columns(studio, [summary], reference, "", "bigram")[0]
    assert [p for p, label in bigram.spans if label] == ["the cat", "on the mat"]
    assert "3 of 5 word pairs shared" in bigram.score
    lcs = h.overlap_columns(studio, [summary], reference, "", "lcs")[0]
    assert "5 of 6 words marked" in lcs.score
    assert bigram.copied is None and bigram.novelty == ""   # no dialogue, no copied view


def test_without_a_reference_only_copied_words_show(studio):
    column = h.overlap_columns(studio, ["Anna calls Ben."], "", "Anna: hi Ben", "unigram")[0]
    assert column.spans is None and column.score == ""
    assert [p for p, label in column.copied if label == LEGEND["copied"]] == ["Anna", "Ben"]


def test_several_references_pick_the_best_and_say_which(studio):
    column = h.overlap_columns(studio, ["Anna invites Ben to dinner."],
                               "Carl sells a car.\nAnna invites Ben to dinner.", "", "unigram")[0]
    assert "best of 2 references: no. 2" in column.score
    assert "5 of 5 words marked" in column.score


@pytest.mark.parametrize("call,message", [
    (lambda s: h.overlap_columns(s, ["x"], "ref", "", "trigram"), "highlight must be one of"),
    (lambda s: h.overlap_columns(s, ["x"], "\n".join("r" for _ in range(11)), "", "unigram"), "at most 10"),
    (lambda s: h.overlap_columns(s, ["x"], 42, "", "unigram"), "must be text"),
])
def test_overlap_refuses_bad_input(studio, call, message):
    with pytest.raises(ValueError, match=message):
        call(studio)


def test_reference_box_follows_the_sent_dialogue_but_keeps_typed_text():
    sent = {"dialogue": "A: hi\nB: hello", "references": ["Two people greet.", "A greets B."]}
    assert h.reference_after_dialogue_change("A: hi\nB: hello", sent, "") == "Two people greet.\nA greets B."
    # The dialogue changed: the dataset's references no longer apply ...
    assert h.reference_after_dialogue_change("A: bye", sent, "Two people greet.\nA greets B.") == ""
    # ... but a reference the person typed stays.
    assert h.reference_after_dialogue_change("A: bye", sent, "My own reference.") is None
    assert h.reference_after_dialogue_change("A: bye", None, "My own reference.") is None
    assert h.parse_references(" one \n\n two\n") == ["one", "two"]


# ------------------------------------------------------------------ prompt readout (Runs)

def test_readout_table_lists_each_virtual_token(trained):
    studio, run_ids = trained.studio, trained.runs
    assert run_ids["prompt"] in [v for _, v in h.prompt_run_choices(studio)]
    assert run_ids["lora"] not in [v for _, v in h.prompt_run_choices(studio)]
    table = h.readout_table(studio, run_ids["prompt"], 3)
    readout = studio.prompt_readout(run_ids["prompt"], 3)
    assert list(table.columns) == ["Virtual token", "Nearest 1", "Nearest 2", "Nearest 3"]
    assert list(table["Virtual token"]) == list(range(1, len(readout["virtual_tokens"]) + 1))
    first = readout["virtual_tokens"][0]["nearest"][0]
    assert table.iloc[0]["Nearest 1"] == f"{first['token']} ({first['cosine']:.2f})"
    assert CAVEAT in h.CAVEAT_LINE


@pytest.mark.parametrize("run,top_k,message", [
    (None, 5, "Pick a prompt-tuning run"),
    ("prompt", 0, "1 to 50"),
    ("prompt", 2.5, "1 to 50"),
    ("lora", 5, "only prompt-tuning runs"),
])
def test_readout_refuses_bad_picks(trained, run, top_k, message):
    studio, run_ids = trained.studio, trained.runs
    with pytest.raises(ValueError, match=message):
        h.readout_table(studio, run_ids.get(run, run), top_k)


def test_readout_of_a_missing_run_is_a_run_not_found(trained):
    studio = trained.studio
    with pytest.raises(RunNotFound):
        h.readout_table(studio, "prompt-20990101-000000-gone", 5)


# ------------------------------------------------------------------ forgetting (Evaluate)

def test_forgetting_view_table_and_figure(trained):
    studio, run_ids = trained.studio, trained.runs
    view = h.forgetting_view(studio, ["original", run_ids["lora"], run_ids["full"]])
    probe = load_probe()
    tasks = sorted({item["task"] for item in probe})
    assert sorted(view.table["Task"][: len(tasks)]) == sorted(t.replace("_", " ") for t in tasks)
    assert list(view.table["Task"][len(tasks):]) == ["All tasks: exact match", "All tasks: word F1",
                                                    "DialogSum ROUGE-L (last evaluation)"]
    assert sum(view.table["Questions"][: len(tasks)]) == len(probe)
    labels = [studio.run_label(m, width=40) for m in ("original", run_ids["lora"], run_ids["full"])]
    assert list(view.table.columns) == ["Task", "Questions", *labels]
    # The original has no change to show; each run's cells carry its change in brackets.
    assert all("(" not in cell for cell in view.table[labels[0]][:-1])
    assert all(cell.endswith(")") for cell in view.table[labels[1]][:-1])
    assert [trace.name for trace in view.figure.data] == labels
    assert len(view.figure.data[0].x) == len(tasks)
    assert f"Asked **{len(probe)}** short questions" in view.summary


def test_forgetting_change_agrees_with_the_scores(trained):
    studio, run_ids = trained.studio, trained.runs
    result = studio.forgetting(["original", run_ids["prompt"]])
    change = result["change"][run_ids["prompt"]]["overall"]["exact_match"]
    assert change == pytest.approx(result["scores"][run_ids["prompt"]]["overall"]["exact_match"]
                                   - result["scores"]["original"]["overall"]["exact_match"])


def test_forgetting_refuses_nothing_ticked_and_gone_runs(trained):
    studio = trained.studio
    with pytest.raises(ValueError, match="Tick at least one"):
        h.forgetting_view(studio, [], None)
    with pytest.raises(RunNotFound):
        h.forgetting_view(studio, ["original", "lora-20990101-000000-gone"])


# ------------------------------------------------------------------ topic groups (Evaluate)

def test_evaluation_shows_rouge_per_topic_group(trained, tmp_path):
    studio, run_ids = trained.studio, trained.runs
    view = h.run_evaluation(studio, ["original", run_ids["lora"]], 8, 8, tmp_path)
    table, too_few = view.per_topic, view.per_topic_too_few
    assert sum(table["Dialogues"]) == 8 and len(too_few) == len(table)
    assert list(table.columns) == ["Topic group", "Dialogues", "Original ROUGE-L", "LoRA ROUGE-L"]
    for (_, row), small in zip(table.iterrows(), too_few):
        assert small == (row["Dialogues"] < 10)
        assert row["Topic group"].endswith("(too few to say)") == small
    styled = h.styled(table, too_few).to_html()
    assert styled.count("color: #9a9a9a") >= 1   # 8 dialogues: every group is too small, all greyed
