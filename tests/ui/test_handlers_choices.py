"""studio/ui/handlers/choices.py: which runs the dropdowns offer, newest first."""


from studio.ui import handlers as h


def test_run_choices_newest_first_with_a_none_entry(studio, trained):
    assert h.run_choices(studio, "lora") == [("none yet: train one first", h.NONE)]
    choices = h.run_choices(trained.studio, "lora")
    assert choices[0][1] == trained.runs["lora"] and choices[-1] == ("— skip —", h.SKIP)
    assert h.keep_or_newest(choices, "gone") == trained.runs["lora"]
    assert h.keep_or_newest(choices, h.NONE) == trained.runs["lora"]   # "none yet": the new run shows
    assert h.keep_or_newest(choices, h.SKIP) == h.SKIP                     # a skip stays the person's choice
    assert set(h.default_models(trained.studio)) == {"original", *trained.runs.values()}
    assert h.model_choices(studio) == [("Original", "original")]


def test_own_runs_are_marked_and_picked_first_in_compare_and_evaluate(two_people):
    studio, runs = two_people
    labels = {value: label for label, value in h.run_choices(studio, "lora", "alice")}
    assert labels[runs["alice"]].endswith("· yours") and not labels[runs["bob"]].endswith("· yours")
    assert h.compare_picks(studio, "alice")["lora"][1] == runs["alice"]      # her own, though bob's is newer
    assert h.compare_picks(studio, "bob")["lora"][1] == runs["bob"]
    assert h.compare_picks(studio, "carol")["lora"][1] == runs["bob"]       # no runs of her own: the newest
    assert runs["alice"] in h.default_models(studio, "alice") and runs["bob"] not in h.default_models(studio, "alice")
    table = h.runs_table(studio.runs(), h.yours(studio, studio.runs(), "bob"))
    marked = table.set_index("Run id")["Name"]
    assert marked[runs["bob"]].endswith("· yours") and not marked[runs["alice"]].endswith("· yours")
    dropdown = {v: lab for lab, v in h.run_dropdown(studio, studio.runs(), "alice")}
    assert "yours" in dropdown[runs["alice"]] and "yours" not in dropdown[runs["bob"]]


def test_evaluate_keeps_ticks_and_ticks_only_the_persons_own_new_run(two_people):
    studio, runs = two_people
    seen_before_bob = ["original", runs["alice"]]  # what alice's page knew before bob's run appeared
    choices, ticked, _ = h.evaluate_selection(studio, "alice", ["original"], seen_before_bob)
    assert runs["bob"] in [v for _, v in choices] and runs["bob"] not in ticked
    assert ticked == ["original"]                  # she unticked her run: it stays unticked
    _, ticked, _ = h.evaluate_selection(studio, "bob", ["original"], seen_before_bob)
    assert ticked == ["original", runs["bob"]]    # bob's own new run is ticked for him
