"""Whether the hub can be reached, decided quickly, and the switches that keep every library offline.

    if not network_available(): enter_offline_mode()
    offline = is_offline(settings)     # the operator's word (HF_HUB_OFFLINE, --offline) or one probe

A hub call that cannot connect retries for close to a minute; one short HTTPS
probe answers in about two seconds instead.
"""
from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request

from studio.config.settings import Settings, hub_endpoint


def network_available(timeout: float = 2.0) -> bool:
    """True when the hub answers one HTTPS request within `timeout` seconds.

    A real request with certificate checks, not a bare TCP connect: some closed
    networks accept any connection through an intercepting proxy.
    """
    endpoint = hub_endpoint()
    result = {"ok": False}

    def probe():
        try:
            urllib.request.urlopen(urllib.request.Request(endpoint + "/api/health", method="HEAD"),
                                   timeout=timeout).close()
            result["ok"] = True
        except urllib.error.HTTPError:
            result["ok"] = True  # any HTTP answer from the hub means it is reachable
        except (OSError, ValueError):
            pass

    # DNS look-ups ignore the socket timeout, so the probe runs in a thread we stop waiting for.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return result["ok"]


def enter_offline_mode() -> None:
    """Make every Hugging Face library use its local cache only, from now on."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import huggingface_hub.constants as hub_constants

    hub_constants.HF_HUB_OFFLINE = True  # read at import time, so set the live value too
    try:
        import datasets.config

        datasets.config.HF_HUB_OFFLINE = True
    except ImportError:
        pass


def is_offline(settings: Settings) -> bool:
    """Decide once: the operator's word if given, else a quick probe."""
    if settings.offline is None:
        settings.offline = not network_available()
    if settings.offline:
        enter_offline_mode()
    return settings.offline
