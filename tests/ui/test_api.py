"""studio/ui/api.py: the script endpoints, called with gradio_client against the built app served in-process."""
from __future__ import annotations

import pytest

from studio.model.methods import registry
from studio.ui import api
from tests.studios import offline_studio

TINY = {"steps": 3, "batch_size": 4, "train_size": 16}


@pytest.fixture(scope="module")
def served(tmp_path_factory, cache_dir):
    from bench.app_server import free_port
    from studio.ui.app import build_app

    studio = offline_studio(tmp_path_factory.mktemp("api") / "runs", cache_dir)
    demo = build_app(studio)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield studio, f"http://127.0.0.1:{port}/"
    demo.close()


def _client(url):
    from gradio_client import Client

    # No client-side timeout: a busy machine may answer a queue join after httpx's default 5 s.
    return Client(url, verbose=False, analytics_enabled=False, download_files=False, httpx_kwargs={"timeout": None})


def test_a_training_started_by_a_script_returns_its_ids_and_can_be_waited_for(served):
    studio, url = served
    app = _client(url)
    job = app.predict(method="lora", api_name="/start_training", **TINY)
    assert set(job) >= {"job_id", "run_id", "status", "ended", "message", "step", "max_steps"}
    assert job["run_id"].startswith("lora-") and job["status"] in ("queued", "running") and not job["ended"]
    assert job["max_steps"] == 3
    done = app.predict(job_id=job["job_id"], api_name="/wait_job")
    assert done["ended"] and done["status"] == "completed", done
    assert done["run_id"] == job["run_id"] and done["step"] == 3
    assert done["message"].startswith("Finished:") and "**" not in done["message"]
    assert studio.run(done["run_id"]).status == "completed"
    # Blank job_id: this session's newest training.
    assert app.predict(api_name="/job")["job_id"] == job["job_id"]

    out = app.predict(dialogue="Anna: Lunch at noon?\nBen: Sure, see you there.", lora_run=job["run_id"],
                      references="Anna and Ben will have lunch at noon.", max_new_tokens=8,
                      api_name="/summaries")
    assert set(out) == {"original", *registry.NAMES} and set(registry.NAMES) >= {"full", "lora", "prompt"}
    assert out["full"] is None and out["prompt"] is None
    assert out["lora"]["run_id"] == job["run_id"] and isinstance(out["lora"]["summary"], str)
    assert out["original"]["run_id"] is None and 0 <= out["original"]["rouge_l"] <= 1

    # Another client is another session: it cannot see (or wait on) this one's training.
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="in this session"):
        _client(url).predict(job_id=job["job_id"], api_name="/wait_job")


@pytest.mark.parametrize("call,message", [
    (dict(dialogue="Anna: Hi.", lora_run="lora-19990101-000000-dead", api_name="/summaries"),
     "lora_run: That run is gone"),
    (dict(dialogue="Anna: Hi.", full_run="my best run", api_name="/summaries"), "full_run: 'my best run' is not a run"),
    (dict(dialogue="Anna: Hi.", lora_run="original", api_name="/summaries"),   # once "That run is gone (deleted?)"
     "lora_run: The original model has a column of its own"),
    (dict(dialogue="   ", api_name="/summaries"), "empty"),
    (dict(dialogue="Anna: Hi.", num_beams=0, api_name="/summaries"), "Beams"),
    (dict(method="dora", api_name="/start_training"), "dora"),
    (dict(job_id="job-nope", api_name="/wait_job"), "No training 'job-nope' in this session"),
    (dict(api_name="/job"), "started no training yet"),
])
def test_bad_input_raises_app_error_in_plain_text(served, call, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        _client(served[1]).predict(**call)
    text = info.value.message or ""
    assert message.lower() in text.lower(), text
    assert "\\" not in text and "**" not in text and "Pick" not in text


def test_plain_text_drops_markdown_and_waits_are_bounded():
    assert api.plain_text("**Finished:** run lora\\_1 \\(mine\\)") == "Finished: run lora_1 (mine)"
    assert api.checked_wait(5) == 5.0 and api.checked_wait(10_000) == api.MAX_WAIT_SECONDS
    for bad in (-1, "soon", float("nan"), True):
        with pytest.raises(ValueError, match="timeout_s"):
            api.checked_wait(bad)


def test_an_optional_method_comes_after_the_parameters_scripts_already_send_by_position():
    """A positional /summaries call written for the three default methods still means what it meant."""
    names = [p.name for p in api.SUMMARY_PARAMETERS]
    assert names[:7] == ["dialogue", "full_run", "lora_run", "prompt_run", "max_new_tokens", "num_beams",
                         "references"]
    assert names[7:] == [f"{m}_run" for m in registry.OPTIONAL_NAMES] and "ia3_run" in names[7:]
