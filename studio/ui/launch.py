"""How the app is served: look, upload and request caps, and the folders Gradio must never serve.

    demo.queue(...); calm_idle_queue(demo)      # build_app does both
    demo.launch(**launch_options(settings))
"""
from __future__ import annotations

import os
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from studio.config.settings import MAX_UPLOAD_BYTES, Settings
from studio.data import assets

from .request_limit import MAX_REQUEST_BYTES, RequestSizeLimit

SOURCE_ROOT = Path(__file__).resolve().parents[2]
# How often Gradio's queue looks for new events while it has none. Off Windows Gradio looks every
# 1 ms, which keeps an idle server at about 5% of a core; every 10 ms it is about 2%, and an
# event waits at most 10 ms more before it starts: nothing a person or a test can notice.
# (Every 50 ms would save another 1%, but changes event timing enough to be worth not risking.)
QUEUE_IDLE_POLL_SECONDS = 0.01


def serve_peer_addresses() -> None:
    """Keep uvicorn from rewriting a request's address from X-Forwarded-For.

    Gradio starts uvicorn with proxy_headers on, and uvicorn then believes the header from
    127.0.0.1 (FORWARDED_ALLOW_IPS' default): every visitor of a local app could name its own
    address. The studio reads the header itself, only as far as the operator declared proxies
    (STUDIO_PROXY_HOPS, studio/ui/turns.py), so uvicorn must hand on the connection's own peer.
    An empty list trusts no host. uvicorn reads the variable when Gradio builds its config.
    """
    os.environ["FORWARDED_ALLOW_IPS"] = ""


def launch_options(settings: Settings | None = None) -> dict:
    """Arguments for demo.launch(): look (Gradio 6 takes css and theme here) and file-access limits.

    Also makes the server charge each request to its real peer (serve_peer_addresses)."""
    serve_peer_addresses()
    # Soft's colours with a plainer, more legible font than its default Montserrat; both fonts
    # ship with Gradio, so nothing is fetched from the internet.
    font = (gr.themes.LocalFont("Source Sans Pro", weights=(400, 600)), "ui-sans-serif", "system-ui", "sans-serif")
    options = {"css": assets.read_text(assets.STYLE_CSS), "theme": gr.themes.Soft(primary_hue="blue", font=font),
               "footer_links": ["api", "gradio"],
               # The app takes no uploads, but Gradio's upload route is open to anyone: cap each file
               # here, and each request and each client's uploads in RequestSizeLimit.
               "max_file_size": MAX_UPLOAD_BYTES,
               # Every request body is capped before Gradio reads it; uploads per request and per client.
               "app_kwargs": {"middleware": [Middleware(RequestSizeLimit, max_bytes=MAX_REQUEST_BYTES,
                                                        proxy_hops=settings.proxy_hops if settings else 0)]}}
    # No allowed_paths: Gradio then serves only files the app itself returned (copied into
    # its cache). Blocking these as well keeps them out even if someone adds allowed_paths later.
    if settings is not None:
        options["blocked_paths"] = blocked_paths(settings)
    return options


def calm_idle_queue(demo: gr.Blocks) -> bool:
    """Make an idle queue wake 100 times a second rather than 1,000 (see QUEUE_IDLE_POLL_SECONDS).

    Gradio exposes no setting for this; the attribute is its queue's own. Should a later Gradio
    rename it, nothing is changed and False says so (tests/ui/test_launch.py then fails).
    """
    queue = getattr(demo, "_queue", None)
    if queue is None or not hasattr(queue, "sleep_when_free"):
        return False
    queue.sleep_when_free = max(queue.sleep_when_free, QUEUE_IDLE_POLL_SECONDS)
    return True


def blocked_paths(settings: Settings) -> list[str]:
    """The runs, the model cache, the source tree and the Hugging Face home (tokens live there)."""
    from gradio.utils import get_upload_folder
    from huggingface_hub import constants

    # Where Gradio keeps the files the app returns (CSV, zips): never block that. (The app caches
    # no examples, so Gradio's examples cache under the working directory may be blocked.)
    served = [Path(get_upload_folder()).resolve()]
    candidates = [settings.runs_dir, settings.cache_dir, SOURCE_ROOT, Path(constants.HF_HOME)]
    paths = []
    for path in candidates:
        path = Path(path).expanduser().resolve()
        if not any(path == folder or path in folder.parents for folder in served):
            paths.append(str(path))
    return paths
