"""Who sent a request (a person and an address, decided here and only here), and generation handlers that take turns.

    @guarded
    @takes_turn(studio)              # waits its person's turn at the studio's generation gate
    def run(dialogue, ...): ...
    caller_of(request, studio)       # Caller(person="token:…", address="203.0.113.7")
    address_from("10.0.0.254", ["spoofed, 203.0.113.7"], proxy_hops=1)   # "203.0.113.7"

The person is the signed-in Hugging Face user (on a Space with hf_oauth, read from Gradio's
signed session cookie), else the owner token the page-load event remembered for this
session (studio/service/people.py), else one anonymous person per address.

The address is the connection's own peer. Behind proxies every request comes from the
proxy, so the operator says how many proxies append to X-Forwarded-For (STUDIO_PROXY_HOPS;
set on Spaces); the address those proxies saw is then the one that many entries from the
right, every X-Forwarded-For line joined in order, as proxies append. Entries further left
were written by the client and are not believed, and with no declared proxies the header is
not read at all. (uvicorn would otherwise rewrite the peer from the header for requests from
127.0.0.1; launch.py switches that off, see `serve_peer_addresses`.)
"""
from __future__ import annotations

import functools

from studio.service.people import UNKNOWN_ADDRESS, Caller

UNKNOWN = UNKNOWN_ADDRESS


def forwarded_chain(values) -> list[str]:
    """Every X-Forwarded-For entry, the header's lines joined in order (a proxy appends to the last)."""
    if isinstance(values, (str, bytes)):
        values = [values]
    entries = []
    for value in values or ():
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        entries.extend(part.strip() for part in str(value).split(","))
    return [entry for entry in entries if entry]


def address_from(host: str | None, forwarded_for, proxy_hops: int = 0) -> str:
    """The address to charge a request to: the connection's, or the one the declared proxies recorded.

    `forwarded_for`: the X-Forwarded-For lines (a list, or one string)."""
    if proxy_hops > 0:
        forwarded = forwarded_chain(forwarded_for)
        if forwarded:
            return forwarded[-min(proxy_hops, len(forwarded))]
    return host or UNKNOWN


def _forwarded_lines(headers) -> list[str]:
    if headers is None:
        return []
    if hasattr(headers, "getlist"):       # starlette's Headers: every line of a repeated header
        return headers.getlist("x-forwarded-for")
    value = headers.get("x-forwarded-for")   # a plain dict (a request Gradio pickled)
    return [value] if value else []


def client_address(request, proxy_hops: int = 0) -> str:
    """address_from() for a gr.Request (None: an event with no request, e.g. a test calling directly)."""
    if request is None:
        return UNKNOWN
    client = getattr(request, "client", None)
    return address_from(getattr(client, "host", None), _forwarded_lines(getattr(request, "headers", None)),
                        proxy_hops)


def signed_in_user(request) -> str:
    """The Hugging Face username of a signed-in visitor ("" when none, or OAuth is not enabled)."""
    raw = getattr(request, "request", None)
    try:
        session = raw.session if raw is not None else None   # Gradio's signed cookie (SessionMiddleware)
    except (AssertionError, AttributeError):                  # no SessionMiddleware: OAuth is off
        return ""
    info = (session or {}).get("oauth_info") or {}
    user = (info.get("userinfo") or {}).get("preferred_username") if isinstance(info, dict) else None
    return user if isinstance(user, str) else ""


def caller_of(request, studio, token: str = "", hf_user: str = "") -> Caller:
    """The person and address of `request`. `token`/`hf_user` are what the event itself knows."""
    session = getattr(request, "session_hash", None) if request is not None else None
    hf_user = hf_user or (signed_in_user(request) if request is not None else "")
    token = token or studio.people.token(session)
    return Caller.of(client_address(request, studio.settings.proxy_hops), token=token, hf_user=hf_user)


def current_request():
    """The gr.Request of the event now running (Gradio keeps it in a context variable), or None."""
    from gradio.context import LocalContext

    return LocalContext.request.get(None)


def session_owner(studio, token: str | None = "", issue: bool = False) -> str:
    """The owner token of the session sending this event: one rule for pages and scripts alike.

    A page holds its token in a State, set by its load event. A script (gradio_client) never runs
    that event, so its token is the one its session got with its first training (/start_training,
    /train, /experiment), remembered in studio.people; every later call of the same Client (stop,
    rename, delete, push, a job's status) then acts as the same person. `issue`: give a session
    with no token one now (starting work). Acting on work never issues one: a new token owns nothing.
    """
    if isinstance(token, str) and token:
        return token
    session = getattr(current_request(), "session_hash", None)
    found = studio.people.token(session)
    if found or not issue:
        return found
    found = studio.issue_owner_token()
    studio.people.remember(session, found)
    return found


def current_caller(studio, token: str = "", hf_user: str = "") -> Caller:
    return caller_of(current_request(), studio, token=token, hf_user=hf_user)


def current_client(proxy_hops: int = 0) -> str:
    """The address of the event now running."""
    return client_address(current_request(), proxy_hops)


def takes_turn(studio):
    """Decorator: run the handler inside its person's turn at the studio's generation gate."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with studio.generation_turn(current_caller(studio)):
                return fn(*args, **kwargs)
        return run
    return wrap
