"""studio/ui/app.py: the assembled app: its tabs, its named API, and wiring no single handler shows."""
import pytest

from tests.ui.one_tab import by_elem_id


def test_build_app_has_the_five_tabs_and_named_api(studio):
    import gradio as gr

    from studio.ui import build_app

    demo = build_app(studio)
    tabs = [block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)]
    assert tabs == ["Dataset", "Train", "Compare", "Evaluate", "Runs"]
    api_names = {fn.api_name for fn in demo.fns.values()}
    assert {"summarize", "train", "stop", "evaluate", "list_runs", "job_status"} <= api_names
    from studio.ui.launch import QUEUE_IDLE_POLL_SECONDS

    assert demo._queue.sleep_when_free == QUEUE_IDLE_POLL_SECONDS     # an idle studio barely uses the CPU


def test_the_api_requires_only_what_a_request_cannot_do_without(studio):
    """A script calls /train with no arguments at all (the run name is optional, as on the page); only
    the dialogue to summarize, the run to act on and a rename's new name must be given."""
    from studio.ui import build_app

    required = {name: [p["parameter_name"] for p in endpoint["parameters"] if not p["parameter_has_default"]]
                for name, endpoint in build_app(studio).get_api_info()["named_endpoints"].items()}
    assert required["/train"] == [] and required["/experiment"] == [] and required["/evaluate"] == []
    assert required["/summarize"] == ["dialogue"]
    assert required["/rename_run"] == ["run_id", "name"] and required["/delete_run"] == ["run_id"]


@pytest.fixture(scope="module")
def app(two_people):
    from studio.ui.app import build_app

    return build_app(two_people[0])


def _events(demo, trigger_block=None, output=None):
    for fn in demo.fns.values():
        if trigger_block is not None and not any(t[0] == trigger_block._id for t in fn.targets):
            continue
        if output is not None and output not in fn.outputs:
            continue
        yield fn


def test_i_am_sure_resets_on_a_new_pick_and_after_every_action(app):
    sure, picked = by_elem_id(app, "runs-sure"), by_elem_id(app, "runs-picked")
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


def test_the_header_names_every_method_the_registry_holds(studio):
    """The line under the title lists the methods from the registry, so a fourth (IA3) is not left out of it."""
    from studio.model.methods import registry
    from studio.ui.app import header_markdown

    header = header_markdown(studio)
    assert header.startswith("# Tuning Studio\n")
    assert "Four ways to tune **tiny-t5-standin-v1 (offline stand-in)**" in header
    assert header.endswith(": Full fine-tuning, LoRA, Prompt tuning and (IA)³.")
    assert len(registry.NAMES) == 4 and all(registry.label(name) in header for name in registry.NAMES)
