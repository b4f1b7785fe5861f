"""studio/ui/handlers/choices.py: which runs the dropdowns offer, newest first."""


from studio.ui.handlers import runs as hr
from studio.ui.handlers.choices import (
    compare_picks,
    default_models,
    evaluate_selection,
    keep_or_newest,
    model_choices,
    run_choices,
)
from studio.ui.handlers.common import NONE, SKIP


def test_run_choices_newest_first_with_a_none_entry(studio, trained):
    assert run_choices(studio, "lora") == [("none yet: train one first", NONE)]
    choices = run_choices(trained.studio, "lora")
    assert choices[0][1] == trained.runs["lora"] and choices[-1] == ("— skip —", SKIP)
    assert keep_or_newest(choices, "gone") == trained.runs["lora"]
    assert keep_or_newest(choices, NONE) == trained.runs["lora"]   # "none yet": the new run shows
    assert keep_or_newest(choices, SKIP) == SKIP                     # a skip stays the person's choice
    assert set(default_models(trained.studio)) == {"original", *trained.runs.values()}
    assert model_choices(studio) == [("Original", "original")]


def test_own_runs_are_marked_and_picked_first_in_compare_and_evaluate(two_people):
    studio, runs = two_people
    labels = {value: label for label, value in run_choices(studio, "lora", "alice")}
    assert labels[runs["alice"]].endswith("· yours") and not labels[runs["bob"]].endswith("· yours")
    assert compare_picks(studio, "alice")["lora"][1] == runs["alice"]      # her own, though bob's is newer
    assert compare_picks(studio, "bob")["lora"][1] == runs["bob"]
    assert compare_picks(studio, "carol")["lora"][1] == runs["bob"]       # no runs of her own: the newest
    assert runs["alice"] in default_models(studio, "alice") and runs["bob"] not in default_models(studio, "alice")
    table = hr.runs_table(studio.runs(), hr.yours(studio, studio.runs(), "bob"))
    marked = table.set_index("Run id")["Name"]
    assert marked[runs["bob"]].endswith("· yours") and not marked[runs["alice"]].endswith("· yours")
    dropdown = {v: lab for lab, v in hr.run_dropdown(studio, studio.runs(), "alice")}
    assert "yours" in dropdown[runs["alice"]] and "yours" not in dropdown[runs["bob"]]


def test_evaluate_keeps_ticks_and_ticks_only_the_persons_own_new_run(two_people):
    studio, runs = two_people
    seen_before_bob = ["original", runs["alice"]]  # what alice's page knew before bob's run appeared
    choices, ticked, _ = evaluate_selection(studio, "alice", ["original"], seen_before_bob)
    assert runs["bob"] in [v for _, v in choices] and runs["bob"] not in ticked
    assert ticked == ["original"]                  # she unticked her run: it stays unticked
    _, ticked, _ = evaluate_selection(studio, "bob", ["original"], seen_before_bob)
    assert ticked == ["original", runs["bob"]]    # bob's own new run is ticked for him


def test_an_experiments_run_reads_short_in_a_compare_picker(studio, monkeypatch):
    """A picker is narrow and its label names the method: "20261208-004049-8746 Full fi" ran under the
    dropdown's arrow; now the experiment's tag and the details come first."""
    from studio.store.records import typed_record

    record = typed_record({"run_id": "full-20261208-004049-aaaa", "method": "full", "status": "completed",
                           "name": "20261208-004049-8746 Full fine-tuning",
                           "experiment": {"id": "exp-20261208-004049-8746"},
                           "steps": 30, "created_at": "2026-12-08T00:40:49",
                           "metrics": {"rougeL": 0.025, "split": "test", "examples": 50}})
    monkeypatch.setattr(studio, "loadable_runs", lambda method=None: [record])
    assert run_choices(studio, "full")[0] == ("exp 004049-8746 (30 steps, ROUGE-L 2.5)", record.run_id)
