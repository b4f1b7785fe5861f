"""Presenter mode closes every path that trains or changes shared state: a walk over every event of the built app.

Each event of the app is called through Gradio's own processing (preprocess, special
arguments, the request context), as a session that owns a completed run and sends that
run's id wherever a dropdown lists it, ticks every checkbox ("I'm sure") and fills every
empty textbox. In presenter mode (for the whole studio, and for one ?presenter=1 page)
no event may queue a training, start an experiment, switch the base or change a file of
the run store. The same walk without presenter mode must change all of these, so a walk
that reached nothing cannot pass.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib

import gradio as gr
import pytest
from gradio.state_holder import SessionState

from studio.config.settings import TrainConfig
from studio.service.engine import Studio
from tests.conftest import TINY_TRAIN

SESSION = "walker-session"


def store_snapshot(studio: Studio) -> dict:
    """Every file under the runs folder with a hash of its content (the lock files aside)."""
    files = {}
    for path in sorted(studio.settings.runs_dir.rglob("*")):
        if path.is_file() and not path.name.endswith(".lock"):
            files[str(path.relative_to(studio.settings.runs_dir))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def shared_state(studio: Studio) -> dict:
    return {"jobs": len(studio.jobs._jobs), "experiments": len(studio.experiments._all),
            "base": studio.settings.base_model, "store": store_snapshot(studio)}


def value_for(block, run_id: str, other_base: str):
    """What the walker sends for one input: the run where a list offers it, ticks, filled text."""
    value = getattr(block, "value", None)
    if isinstance(block, gr.Dropdown):
        choices = [c[1] if isinstance(c, (tuple, list)) else c for c in (block.choices or [])]
        if run_id in choices:
            return [run_id] if block.multiselect else run_id
        if other_base in choices:
            return other_base
    if isinstance(block, gr.CheckboxGroup):
        choices = [c[1] if isinstance(c, (tuple, list)) else c for c in (block.choices or [])]
        return [run_id] if run_id in choices else value
    if isinstance(block, gr.Checkbox):
        return True
    if isinstance(block, gr.Textbox) and not value and "name" in str(block.label or "").lower():
        return "walker name"
    return value


def walk_every_event(studio: Studio, demo: gr.Blocks, token: str, run_id: str, other_base: str,
                     query: dict) -> tuple[list[str], dict]:
    """Call every event once: the api names (or function names) that ran, and what the others raised."""
    ran, failed = [], {}
    # The events that take the run or the base away come last, so every other event still finds them.
    last = {"delete_run": 2, "switch_base": 1}
    for block_fn in sorted(demo.fns.values(), key=lambda fn: last.get(fn.api_name, 0)):
        state = SessionState(demo)
        inputs = []
        for block in block_fn.inputs:
            if isinstance(block, gr.State):
                # Every empty-text State gets the owner token (the walker owns the run); the others keep their defaults.
                state[block._id] = token if block.value == "" else block.value
                inputs.append(None)
            else:
                inputs.append(value_for(block, run_id, other_base))
        request = gr.Request(session_hash=SESSION, headers={"x-gradio-user": "api"}, query_params=query,
                             client={"host": "127.0.0.1", "port": 1}, cookies={}, url="http://x/", path_params={})
        studio.people.remember(SESSION, token)
        studio.people.mark_presenter(SESSION, query.get("presenter") == "1")
        try:
            asyncio.run(_call(demo, block_fn, inputs, state, request))
            ran.append(block_fn.api_name or block_fn.name)
            settle(studio)  # a training it queued would hold back the next event (one per person)
        except Exception as exc:  # noqa: BLE001 - a refusal or a bad default; the state check is what counts
            failed[block_fn.api_name or block_fn.name] = f"{type(exc).__name__}: {exc}"[:200]
    return ran, failed


def settle(studio: Studio) -> None:
    """Stop whatever the walk started and let it end (the jobs and experiments stay on record)."""
    for experiment in list(studio.experiments._all.values()):
        experiment.stop()
        studio.wait_experiment(experiment.experiment_id, 600)
    for job in list(studio.jobs._jobs.values()):
        studio.stop_job(job.job_id, job.owner)
        studio.wait_job(job.job_id, timeout=600)


async def _call(demo, block_fn, inputs, state, request):
    iterator = None
    for _ in range(3):   # generators: a few of their updates (a training's first steps)
        result = await demo.process_api(block_fn, inputs, state, request=request, iterator=iterator,
                                        session_hash=SESSION)
        iterator = result.get("iterator")
        if iterator is None:
            break


@pytest.fixture
def owned_studio(settings, cache_dir, tmp_path):
    """A studio with an allowed second base and one completed run owned by `token`."""
    import shutil

    from studio.model.standin import STANDIN_NAME

    other = tmp_path / "other-base"
    shutil.copytree(cache_dir / STANDIN_NAME, other)
    settings = dataclasses.replace(settings, allowed_base_models=(settings.base_model, str(other)),
                                   allow_base_switch=True)
    studio = Studio(settings)
    token = studio.issue_owner_token()
    job = studio.submit_training("lora", TrainConfig(steps=2, **TINY_TRAIN), owner=token, name="walker's run")
    studio.wait_job(job.job_id, timeout=600)
    assert studio.run(job.run_id).status == "completed"
    studio.jobs._jobs.clear()        # the walk counts the jobs it queues itself
    return studio, token, job.run_id, str(other)


def _walk(owned_studio, presenter_setting: bool, query: dict):
    from studio.ui.app import build_app

    studio, token, run_id, other = owned_studio
    studio.settings = dataclasses.replace(studio.settings, presenter=presenter_setting)
    demo = build_app(studio)
    before = shared_state(studio)
    ran, failed = walk_every_event(studio, demo, token, run_id, other, query)
    return before, shared_state(studio), ran, failed


def test_without_presenter_mode_the_walk_trains_and_changes_the_store(owned_studio):
    before, after, ran, failed = _walk(owned_studio, presenter_setting=False, query={})
    why = "the walk reached too little to check presenter mode; what failed:\n" + \
        "\n".join(f"{name}: {error}" for name, error in failed.items())
    assert after["jobs"] > before["jobs"], why
    assert after["experiments"] > before["experiments"], why
    assert after["base"] != before["base"], why
    assert after["store"] != before["store"], why
    assert {"train", "experiment", "switch_base", "rename_run", "delete_run"} <= set(ran), why


@pytest.mark.parametrize("presenter_setting, query", [(True, {}), (False, {"presenter": "1"})],
                         ids=["STUDIO_PRESENTER", "presenter page"])
def test_in_presenter_mode_no_event_trains_or_changes_shared_state(owned_studio, presenter_setting, query):
    before, after, ran, _ = _walk(owned_studio, presenter_setting, query)
    changed = sorted(name for name in before["store"].keys() | after["store"].keys()
                     if before["store"].get(name) != after["store"].get(name))
    assert not changed, f"files of the run store changed: {changed}"
    assert {k: v for k, v in after.items() if k != "store"} == {k: v for k, v in before.items() if k != "store"}
    assert len(ran) > 20     # the page's other events (browsing, summaries) still answered
