"""Who a request comes from, and the plain-text errors a script gets (escaping is for the page only)."""
from types import SimpleNamespace

import gradio as gr
import pytest

from studio.ui.errors import guarded
from studio.ui.turns import address_from, client_address


def request(host, forwarded=None, user=None):
    headers = {k: v for k, v in (("x-forwarded-for", forwarded), ("x-gradio-user", user)) if v}
    return SimpleNamespace(client=SimpleNamespace(host=host), headers=headers)


def test_the_connection_address_counts_unless_proxies_are_trusted():
    assert client_address(request("10.0.0.1", "6.6.6.6")) == "10.0.0.1"
    assert client_address(request("10.0.0.254", "spoofed, 203.0.113.7"), proxy_hops=1) == "203.0.113.7"
    assert client_address(request("10.0.0.254", "a, 203.0.113.7, 10.0.0.9"), proxy_hops=2) == "203.0.113.7"
    assert client_address(request("10.0.0.254"), proxy_hops=1) == "10.0.0.254"   # no header: the connection
    assert address_from(None, None) == "unknown" and client_address(None) == "unknown"


def test_several_forwarded_lines_are_joined_in_order_as_proxies_append():
    # A client sends its own X-Forwarded-For line first; the proxy appends a line of its own.
    # Read the same way everywhere: all lines joined, counted from the right.
    from starlette.datastructures import Headers

    headers = Headers(raw=[(b"x-forwarded-for", b"10.8.1.1"), (b"x-forwarded-for", b"203.0.113.7")])
    req = SimpleNamespace(client=SimpleNamespace(host="10.0.0.254"), headers=headers)
    assert client_address(req, proxy_hops=1) == "203.0.113.7"
    varied = Headers(raw=[(b"x-forwarded-for", b"10.8.9.9"), (b"x-forwarded-for", b"203.0.113.7")])
    assert client_address(SimpleNamespace(client=req.client, headers=varied), proxy_hops=1) == "203.0.113.7"
    assert address_from("10.0.0.254", [b"a, b", b"c"], proxy_hops=2) == "b"
    assert client_address(req) == "10.0.0.254"   # no declared proxies: no line is read


@pytest.fixture
def in_event():
    """Pretend an event from the page ("app") or a script ("api") is running."""
    from gradio.context import LocalContext

    entered = []
    yield lambda user: entered.append(LocalContext.request.set(request("127.0.0.1", user=user)))
    for token in reversed(entered):
        LocalContext.request.reset(token)


def test_a_script_gets_the_message_as_plain_text(in_event):
    @guarded
    def handler():
        raise ValueError("The steps must be a whole number, not 'ten'.")

    in_event("api")
    with pytest.raises(gr.Error) as caught:
        handler()
    assert caught.value.message == "The steps must be a whole number, not 'ten'."


def test_the_page_gets_the_message_escaped(in_event, monkeypatch):
    shown = []
    monkeypatch.setattr(gr, "Warning", shown.append)

    @guarded
    def handler():
        raise ValueError("Not <b>'ten'</b>.")

    in_event("app")
    handler()
    assert shown == ["Not &lt;b&gt;&#x27;ten&#x27;&lt;/b&gt;."]


def _signed_request(host: str, username: str | None, session_hash: str = "s-1") -> gr.Request:
    """A gr.Request as Gradio builds it, over a Starlette request whose signed session cookie
    holds what Gradio's OAuth login stores (oauth_info.userinfo.preferred_username)."""
    from starlette.requests import Request

    session = {"oauth_info": {"userinfo": {"preferred_username": username}}} if username else {}
    raw = Request({"type": "http", "method": "POST", "path": "/", "headers": [], "client": (host, 5000),
                   "session": session, "query_string": b""})
    return gr.Request(request=raw, session_hash=session_hash)


def test_a_signed_in_visitor_is_one_person_whatever_session_or_token(studio):
    from studio.ui.turns import caller_of, signed_in_user

    phone = caller_of(_signed_request("10.0.0.7", "anna", "phone"), studio, token="token-on-phone")
    laptop = caller_of(_signed_request("10.0.0.8", "anna", "laptop"), studio, token="token-on-laptop")
    assert phone.person == laptop.person == "hf:anna" and phone.signed_in
    anonymous = caller_of(_signed_request("10.0.0.7", None), studio)
    assert signed_in_user(_signed_request("10.0.0.7", None)) == "" and not anonymous.signed_in
    # Without Gradio's session middleware (OAuth off) there is no session to read: nobody is signed in.
    from starlette.requests import Request

    no_middleware = gr.Request(request=Request({"type": "http", "headers": [], "client": ("10.0.0.7", 1)}))
    assert signed_in_user(no_middleware) == ""


def test_with_sign_in_required_only_signed_in_people_train(settings):
    import dataclasses

    from studio.config.settings import TrainConfig
    from studio.service.engine import Studio
    from studio.ui.turns import caller_of
    from tests.conftest import TINY_TRAIN

    studio = Studio(dataclasses.replace(settings, require_login=True))
    token = studio.issue_owner_token()
    anonymous = caller_of(_signed_request("10.0.0.7", None), studio, token=token)
    with pytest.raises(PermissionError, match="sign in with Hugging Face"):
        studio.submit_training("lora", TrainConfig(steps=1, **TINY_TRAIN), owner=token, client=anonymous)
    assert not studio.jobs._jobs                       # refused before anything was queued
    anna = caller_of(_signed_request("10.0.0.7", "anna"), studio, token=token)
    job = studio.submit_training("lora", TrainConfig(steps=1, **TINY_TRAIN), owner=token, client=anna)
    queued = studio.jobs.get(job.job_id)               # the queue's own job: who it charges
    assert queued.client == "hf:anna" and queued.address == "10.0.0.7"
    studio.wait_job(job.job_id, timeout=600)
