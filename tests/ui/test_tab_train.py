"""studio/ui/tab_train.py: the Train tab's wiring: the form follows the method and preset, Start trains and the
timer follows the job to its end, Stop, a reload's re-attachment, presenter mode."""
import gradio as gr
import pytest

from studio.ui import section_train_form, tab_train
from studio.ui.handlers import train as ht
from tests.ui.one_tab import all_wired, build_tab, by_elem_id, by_label, wired

TINY = {"method": "lora", "steps": 2, "batch_size": 4, "train_size": 8}


@pytest.fixture
def tab(studio, tmp_path):
    demo, ctx = build_tab(tab_train, studio, tmp_path)
    api = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    return demo, ctx, api


def _form(**values):
    """Every form field as the page sends it, TINY unless given."""
    form = ht.TrainForm(**{**TINY, **values})
    return {field: getattr(form, field) for field in section_train_form.FORM_FIELDS}


def test_the_method_shows_its_own_settings_and_learning_rate(tab):
    demo, _, _ = tab
    on_method = wired(demo, by_label(demo, "Method"), "change")
    out = on_method.fn("prompt")
    boxes = [v for c, v in out.items() if isinstance(c, gr.Group)]
    assert sorted(box.visible for box in boxes) == [False] * (len(boxes) - 1) + [True]   # the prompt's box alone
    assert out[by_label(demo, "Learning rate")].placeholder == f"{ht.default_learning_rate('prompt'):g}"
    assert "Prompt tuning" in out[by_elem_id(demo, "method-help")]


def test_a_preset_fills_the_budget_and_the_budget_line_follows_raw_numbers(tab, studio):
    demo, _, _ = tab
    out = wired(demo, by_label(demo, "Preset"), "input").fn("standard")
    standard = ht.preset_values(studio, "standard")
    assert [out[by_label(demo, name)] for name in ("Steps", "Batch size", "Training subset size")] == \
        [standard["steps"], standard["batch_size"], standard["train_size"]]
    budget = wired(demo, by_label(demo, "Steps"), "change")
    assert budget.preprocess is False and budget.fn("lora", 30, 8, 400).startswith("**Start will train**")
    assert "Start will train" not in budget.fn("lora", "1e", 8, 400)      # half-typed: its own message, no toast


def test_start_trains_and_the_timer_follows_the_job_to_its_end(tab, studio):
    demo, ctx, api = tab
    started = api["train"].fn(owner="", **_form())
    job_state = api["train"].outputs[1]                        # [owner, job id, timer, status, ...]
    owner, job_id = started[ctx.owner], started[job_state]
    assert owner and studio.job(job_id) is not None            # a script's session got a token
    assert next(v for c, v in started.items() if isinstance(c, gr.Timer)).active is True
    studio.wait_job(job_id, timeout=600)
    ended = api["job_status"].fn(job_id, 5, -1, owner, False, 1, False)
    assert "Finished" in ended[by_elem_id(demo, "job-status")]
    assert next(v for c, v in ended.items() if isinstance(c, gr.Timer)).active is False
    assert ended[ctx.runs_version] == 6                        # every tab's lists are told a run appeared


def test_bad_input_is_refused_and_starts_nothing(tab, studio):
    _, _, api = tab
    with pytest.warns(UserWarning, match="The number of steps must be a number"):
        assert api["train"].fn(owner="alice", **{**_form(), "steps": "ten"}) == gr.skip()
    assert studio.jobs_of("alice") == []


def test_stop_ends_the_sessions_job_and_a_reload_reattaches_to_it(tab, studio):
    demo, ctx, api = tab
    started = api["train"].fn(owner="alice", **_form(steps=4000, method="prompt"))
    job_id = started[api["train"].outputs[1]]
    reattach = next(fn for fn in demo.fns.values() if fn.name == "reattach")
    back = reattach.fn("alice")
    assert job_id in back.values() and back[by_label(demo, "Steps")] == 4000
    assert back[by_label(demo, "Method")] == "prompt"
    assert reattach.fn("bob") == gr.skip()                    # someone else's page: nothing to pick up
    api["stop"].fn(job_id, "alice")
    studio.wait_job(job_id, timeout=600)
    assert studio.job(job_id).status == "stopped"


def test_presenter_mode_hides_the_controls_and_shows_the_note(tab):
    demo, ctx, _ = tab
    show = next(fn for fn in all_wired(demo, ctx.presenter, "change") if fn.name == "show")
    on = show.fn(True)
    assert on[by_elem_id(demo, "presenter-note")].visible is True
    assert next(v for c, v in on.items() if isinstance(c, gr.Column)).visible is False


def test_the_time_estimate_is_worked_out_again_when_a_page_opens_and_for_the_picked_method(tab, studio):
    """The line built with the page is the app's start-up estimate (from the model's size): a page opened after
    runs were measured once kept saying "about 2 s ... until a run has been measured here" until a field
    changed, and for every method at once ("depending on the method") with one picked."""
    demo, ctx, _ = tab
    budget = by_elem_id(demo, "train-budget")
    writers = [fn for fn in demo.fns.values() if budget in fn.outputs and fn.name == "on_budget"]
    assert len(writers) == 1
    triggers = {tuple(t) for t in writers[0].targets}
    assert (demo._id, "load") in triggers and (by_label(demo, "Method")._id, "change") in triggers
    from studio.config.settings import TrainConfig

    job = studio.submit_training("lora", TrainConfig(steps=2, batch_size=4, train_size=8), owner="alice")
    studio.wait_job(job.job_id, timeout=600)
    text = writers[0].fn("lora", 30, 8, 400)
    assert "measured on this machine over 1 earlier run" in text and "depending on the method" not in text
