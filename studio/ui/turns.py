"""Who sent a request (its client address), and generation handlers that take their turn per client.

    @guarded
    @takes_turn(studio)            # waits its turn at the studio's generation gate; refused over the client's share
    def run(dialogue, ...): ...
    client_address(request, proxy_hops=1)   # "203.0.113.7"

A client is an address, not a session: a script can open as many sessions as it likes,
but not as many addresses. Behind a proxy every request comes from the proxy, so the
operator says how many proxies append to X-Forwarded-For (STUDIO_PROXY_HOPS; set on
Spaces); the address those proxies saw is then the one that many entries from the
right. Entries further left were written by the client and are not believed.
"""
from __future__ import annotations

import functools

UNKNOWN = "unknown"


def address_from(host: str | None, forwarded_for: str | None, proxy_hops: int = 0) -> str:
    """The address to charge a request to: the connection's, or the one the trusted proxies recorded."""
    if proxy_hops > 0:
        forwarded = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-min(proxy_hops, len(forwarded))]
    return host or UNKNOWN


def client_address(request, proxy_hops: int = 0) -> str:
    """address_from() for a gr.Request (None: an event with no request, e.g. a test calling directly)."""
    if request is None:
        return UNKNOWN
    client = getattr(request, "client", None)
    return address_from(getattr(client, "host", None), (request.headers or {}).get("x-forwarded-for"), proxy_hops)


def current_client(proxy_hops: int = 0) -> str:
    """The client of the event now running (Gradio keeps its request in a context variable)."""
    from gradio.context import LocalContext

    return client_address(LocalContext.request.get(None), proxy_hops)


def takes_turn(studio):
    """Decorator: run the handler inside the client's turn at the studio's generation gate."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with studio.generation_turn(current_client(studio.settings.proxy_hops)):
                return fn(*args, **kwargs)
        return run
    return wrap
