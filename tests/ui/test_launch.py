"""studio/ui/launch.py: uploads capped, and the runs, cache, source and Hugging Face home never served."""
from pathlib import Path
from types import SimpleNamespace

from studio.config.settings import MAX_UPLOAD_BYTES
from studio.ui.launch import (
    QUEUE_IDLE_POLL_SECONDS,
    SOURCE_ROOT,
    blocked_paths,
    calm_idle_queue,
    launch_options,
)
from studio.ui.request_limit import RequestSizeLimit


def test_every_private_folder_is_blocked_and_nothing_is_allowed(settings):
    from huggingface_hub import constants

    options = launch_options(settings)
    assert "allowed_paths" not in options and options["max_file_size"] == MAX_UPLOAD_BYTES
    assert options["blocked_paths"] == blocked_paths(settings)
    for folder in (settings.runs_dir, settings.cache_dir, SOURCE_ROOT, constants.HF_HOME):
        assert str(Path(folder).expanduser().resolve()) in options["blocked_paths"]


def test_the_folder_gradio_serves_returned_files_from_is_never_blocked(settings, monkeypatch, tmp_path):
    import gradio.utils

    settings.cache_dir = tmp_path / "cache"
    served = settings.cache_dir / "gradio"          # Gradio's file folder inside the model cache
    monkeypatch.setattr(gradio.utils, "get_upload_folder", lambda: str(served))
    blocked = blocked_paths(settings)
    assert str(settings.cache_dir.resolve()) not in blocked    # blocking it would block the CSVs and zips
    assert str(Path(settings.runs_dir).resolve()) in blocked


def test_every_request_passes_the_size_cap_first(settings):
    middleware = launch_options(settings)["app_kwargs"]["middleware"]
    assert [m.cls for m in middleware] == [RequestSizeLimit]


def test_an_idle_queue_wakes_a_hundred_times_a_second_not_a_thousand():
    import gradio as gr

    with gr.Blocks() as demo:
        gr.Markdown("x")
    demo.queue()
    assert demo._queue.sleep_when_free < QUEUE_IDLE_POLL_SECONDS     # Gradio's own default off Windows
    assert calm_idle_queue(demo) is True                                # False would mean Gradio renamed it
    assert demo._queue.sleep_when_free == QUEUE_IDLE_POLL_SECONDS
    renamed = SimpleNamespace(_queue=SimpleNamespace(idle_sleep=0.001))     # a Gradio that renamed them
    assert calm_idle_queue(renamed) is False and renamed._queue.idle_sleep == 0.001


def test_uvicorn_no_longer_believes_x_forwarded_for_from_localhost(monkeypatch, settings):
    # Gradio builds uvicorn.Config with proxy_headers on; by default uvicorn then rewrites the
    # client of any request from 127.0.0.1 to whatever X-Forwarded-For says.
    import asyncio

    import uvicorn
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["client"][0])

    def client_seen():
        config = uvicorn.Config(app)   # what Gradio's server does, after launch_options
        middleware = ProxyHeadersMiddleware(app, trusted_hosts=config.forwarded_allow_ips)
        scope = {"type": "http", "client": ("127.0.0.1", 5000), "headers": [(b"x-forwarded-for", b"10.8.1.1")]}
        asyncio.run(middleware(scope, None, None))
        return seen.pop()

    assert client_seen() == "10.8.1.1"                      # uvicorn's own default: the header believed
    launch_options(settings)
    assert client_seen() == "127.0.0.1"                     # the connection's peer, as the studio charges
