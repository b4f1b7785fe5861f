"""Issue 10's UI behaviour, without a browser: the queue everyone sees, "yours", what Start will do,
the restored form, page numbers, the delete confirmation, the methods' shares, presenter mode."""
from __future__ import annotations

import json

import pytest

from studio.config import Settings
from studio.engine import Studio
from studio.ui import handlers as h
from tests.waiting import wait_until

TINY = {"steps": 3, "batch_size": 4, "train_size": 16}


@pytest.fixture(scope="module")
def shared(tmp_path_factory, cache_dir):
    """One studio: alice's LoRA run, then bob's newer LoRA run."""
    studio = Studio(Settings(offline=True, runs_dir=tmp_path_factory.mktemp("shared") / "runs",
                             cache_dir=cache_dir, data="bundled"))
    runs = {}
    for owner in ("alice", "bob"):
        job = h.start_training(studio, owner, h.TrainForm(method="lora", **TINY))
        studio.wait_job(job.job_id, timeout=300)
        assert job.status == "completed", job.error
        runs[owner] = job.run_id
    return studio, runs


# ------------------------------------------------------------------ 3: the queue and "yours"

def test_everyone_sees_what_trains_how_many_wait_and_their_own_place(studio):
    assert "free" in h.queue_view(studio, "carol")
    long_run = h.TrainForm(method="prompt", steps=4000, batch_size=2, train_size=16)
    first = h.start_training(studio, "alice", long_run)
    second = h.start_training(studio, "bob", h.TrainForm(method="lora", **TINY))
    try:
        wait_until(lambda: (first.latest("step") or {}).get("step", 0) >= 1)
        carol = h.queue_view(studio, "carol")
        assert "Training now:** Prompt tuning," in carol and "of 4000" in carol
        assert "yours" not in carol and "alice" not in carol          # whose it is stays anonymous
        assert "1 waiting" in carol and "your place" not in carol
        assert "Prompt tuning (yours)" in h.queue_view(studio, "alice")
        assert "your place: #1" in h.queue_view(studio, "bob")
    finally:
        for job, owner in ((second, "bob"), (first, "alice")):
            studio.stop_job(job.job_id, owner)
        studio.wait_job(first.job_id, timeout=300)


def test_own_runs_are_marked_and_picked_first_in_compare_and_evaluate(shared):
    studio, runs = shared
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


def test_evaluate_keeps_ticks_and_ticks_only_the_persons_own_new_run(shared):
    studio, runs = shared
    seen_before_bob = ["original", runs["alice"]]  # what alice's page knew before bob's run appeared
    choices, ticked, _ = h.evaluate_selection(studio, "alice", ["original"], seen_before_bob)
    assert runs["bob"] in [v for _, v in choices] and runs["bob"] not in ticked
    assert ticked == ["original"]                  # she unticked her run: it stays unticked
    _, ticked, _ = h.evaluate_selection(studio, "bob", ["original"], seen_before_bob)
    assert ticked == ["original", runs["bob"]]    # bob's own new run is ticked for him


# ------------------------------------------------------------------ 4: the form of the job shown

def test_the_form_of_a_job_is_restored(studio):
    form = h.TrainForm(method="lora", steps=7, batch_size=2, train_size=12, learning_rate="0.002", seed=5,
                       name="mine", lora_r=4, lora_alpha=8, lora_dropout=0.1, lora_targets=["q", "k"])
    job = h.start_training(studio, "alice", form)
    studio.wait_job(job.job_id, timeout=300)
    restored = h.form_of_job(studio.job(job.job_id))
    assert restored.method == "lora" and (restored.steps, restored.batch_size, restored.train_size) == (7, 2, 12)
    assert restored.learning_rate == "0.002" and restored.seed == 5 and restored.name == "mine"
    assert (restored.lora_r, restored.lora_alpha, restored.lora_dropout) == (4, 8, 0.1)
    assert restored.lora_targets == ["q", "k"]
    prompt = h.start_training(studio, "alice", h.TrainForm(method="prompt", steps=2, batch_size=2, train_size=8,
                                                           prompt_tokens=7, prompt_init="random"))
    studio.wait_job(prompt.job_id, timeout=300)
    again = h.form_of_job(prompt)
    assert (again.method, again.prompt_tokens, again.prompt_init, again.name) == ("prompt", 7, "random", "")


# ------------------------------------------------------------------ 5: what Start will do

def test_the_budget_says_what_will_happen_and_the_run_records_it(studio):
    available = sum(len(ex.references) for ex in studio.data.split("train"))
    text = h.budget_text(studio, 60, 8, 400)
    assert f"all **{available:,}**" in text and "subset of 400" in text
    assert f"{60 * 8 / available:.1f} passes" in text
    assert "0.25** of one pass" in h.budget_text(studio, 1, 4, 16)
    assert "must be" in h.budget_text(studio, 0, 8, 400)                   # a bad value: a message, no crash
    job = h.start_training(studio, "alice", h.TrainForm(method="lora", steps=2, batch_size=4, train_size=1000))
    studio.wait_job(job.job_id, timeout=300)
    record = json.loads((studio.run_dir(job.run_id) / "run.json").read_text())
    assert record["budget"]["pairs_available"] == available
    assert record["budget"]["pairs_used"] == available
    assert record["budget"]["epochs"] == round(2 * 4 / available, 3)


# ------------------------------------------------------------------ 7: page numbers

@pytest.mark.parametrize("bad", [0, -3, "x", 2.5, float("nan")])
def test_a_bad_page_number_keeps_the_page_shown_and_says_why(bad):
    page, problem = h.checked_page(bad, 3)
    assert page == 3 and problem.startswith("The page number must be")


def test_a_good_page_number_passes():
    assert h.checked_page("2", 1) == (2, "")
    assert h.checked_page(None, 4) == (1, "")


# ------------------------------------------------------------------ 9: method help from the loaded model

def test_method_help_states_the_share_the_loaded_model_trains(shared):
    studio, runs = shared
    record = studio.run(runs["alice"])
    help_text = h.method_help(studio, "lora")
    assert "under 1%" not in help_text
    assert f"{record['trainable_params']:,}** of {record['total_params']:,}" in help_text
    assert f"({100 * record['trainable_share']:.2f}%)" in help_text
    assert "stand-in" in help_text


def test_method_help_speaks_of_the_default_model_when_it_cannot_count(shared, monkeypatch):
    studio, _ = shared
    monkeypatch.setattr(studio, "method_shares", dict)
    text = h.method_help(studio, "lora")
    assert "FLAN-T5-small (the default model" in text and "688,128** of 77,649,280" in text and "0.89%" in text


# ------------------------------------------------------------------ 15: presenter mode

def test_presenter_mode_from_the_url_or_the_setting_refuses_training(studio, settings):
    assert h.presenter_mode(studio, {"presenter": "1"}) and not h.presenter_mode(studio, {})
    assert not h.presenter_mode(studio, {"presenter": "0"})
    with pytest.raises(PermissionError, match="Presenter mode"):
        h.start_training(studio, "alice", h.TrainForm(**TINY), presenter=True)
    assert Settings.from_env(env={"STUDIO_PRESENTER": "1"}).presenter
    studio.settings.presenter = True
    assert h.presenter_mode(studio, None)
    with pytest.raises(PermissionError):
        h.start_training(studio, "alice", h.TrainForm(**TINY))


def test_presenter_mode_refuses_what_it_hides_to_scripts_too(studio, tmp_path):
    """The page hides training, renaming, deleting, pushing and importing; a script calling the
    API directly meets the same refusal, and nothing changes."""
    from studio.ui.handlers import experiment, hub

    job = h.start_training(studio, "alice", h.TrainForm(method="lora", **TINY))
    studio.jobs.wait(job.job_id, timeout=600)
    before = studio.run(job.run_id)
    studio.settings.presenter = True
    refused = {
        "training": lambda: h.start_training(studio, "alice", h.TrainForm(**TINY)),
        "an experiment": lambda: experiment.start_experiment(studio, "alice", experiment.ExperimentForm(**TINY)),
        "renaming": lambda: h.rename_run(studio, job.run_id, "new name", "alice"),
        "deleting": lambda: h.delete_run(studio, job.run_id, "alice", True),
        "pushing": lambda: hub.push_run(studio, job.run_id, "alice/run", False, "alice"),
        "importing from the Hub": lambda: hub.import_from_hub(studio, "alice/run"),
        "importing files": lambda: hub.import_files(studio, [str(tmp_path / "adapter_config.json")], tmp_path),
    }
    for action, call in refused.items():
        with pytest.raises(PermissionError, match="Presenter mode"):
            call()
        assert studio.run(job.run_id) == before, action
    assert [r["run_id"] for r in studio.runs()] == [job.run_id] and len(studio.jobs_of("alice")) == 1


# ------------------------------------------------------------------ wiring: 7, 8, 15 in the built app

@pytest.fixture(scope="module")
def app(shared):
    from studio.ui.app import build_app

    return build_app(shared[0])


def _by_elem_id(demo, elem_id):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def _events(demo, trigger_block=None, output=None):
    for fn in demo.fns.values():
        if trigger_block is not None and not any(t[0] == trigger_block._id for t in fn.targets):
            continue
        if output is not None and output not in fn.outputs:
            continue
        yield fn


def test_i_am_sure_resets_on_a_new_pick_and_after_every_action(app):
    sure, picked = _by_elem_id(app, "runs-sure"), _by_elem_id(app, "runs-picked")
    resets = list(_events(app, output=sure))
    assert any(picked._id in [t[0] for t in fn.targets] and fn.targets[0][1] == "change" for fn in resets)
    # Delete and Rename are each followed by a step that unticks it, whether they were refused or done.
    followers = [fn for fn in resets if fn.trigger_after is not None and not fn.trigger_only_on_success]
    assert len(followers) >= 2
    assert all(fn.fn() == {"value": False, "__type__": "update"} or getattr(fn.fn(), "value", None) is False
               for fn in followers)


def test_every_number_box_reaches_its_checks_raw(app):
    """Gradio's own min/max check answers with a red Error toast; every event reading a number box
    hands the raw value to a handler that answers with the usual warning instead."""
    import gradio as gr

    numbers = {b._id for b in app.blocks.values() if isinstance(b, (gr.Number, gr.Slider))}
    for fn in app.fns.values():
        if any(getattr(i, "_id", None) in numbers for i in fn.inputs):
            assert fn.preprocess is False, f"{fn.name} preprocesses a number box"


# ------------------------------------------------------------------ 6: the loss plot's options

def test_the_loss_plot_overlays_own_earlier_runs_smooths_and_goes_log(shared):
    studio, runs = shared
    # Without the overlay: the newest run of each method, bob's LoRA, marked for bob only.
    assert any(t.name.endswith("· yours") for t in h.loss_view(studio, None, "bob").data)
    assert not any("yours" in t.name for t in h.loss_view(studio, None, "alice").data)
    studio_runs_alice = [t for t in h.loss_view(studio, None, "alice", own_runs=True).data if "yours" in t.name]
    assert len(studio_runs_alice) == 1 and runs["alice"] in studio_runs_alice[0].name
    smooth = h.loss_view(studio, None, "alice", own_runs=True, smoothing="3", log_scale=True)
    assert any(t.opacity == 0.25 for t in smooth.data)         # raw points faint behind the average
    assert smooth.layout.yaxis.type == "log"
    assert h.smoothing_window("abc") == 1 and h.smoothing_window(0) == 1 and h.smoothing_window(1e9) == 50
