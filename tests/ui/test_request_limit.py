"""The request-size cap in front of Gradio: big bodies are refused before anyone reads them."""
import asyncio
import json

from studio.ui.request_limit import RequestSizeLimit

LIMIT = 1000


def call(path, chunks, declared=None):
    """Run the middleware over a request sent in `chunks`; return (status, body, bytes the app saw)."""
    seen = {"body": None}

    async def app(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["body"] = body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    pulled = []

    async def receive():
        pulled.append(1)
        return messages[len(pulled) - 1] if len(pulled) <= len(messages) else {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message)

    headers = [] if declared is None else [(b"content-length", str(declared).encode())]
    scope = {"type": "http", "path": path, "headers": headers}
    asyncio.run(RequestSizeLimit(app, max_bytes=LIMIT)(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, seen["body"], len(pulled)


def test_a_declared_length_over_the_cap_is_refused_unread():
    status, body, app_saw, pulled = call("/gradio_api/call/summarize", [b"x" * 2000], declared=2000)
    assert status == 413 and "limit is" in json.loads(body)["error"]
    assert app_saw is None and pulled == 0


def test_a_chunked_body_is_cut_off_at_the_cap():
    status, _, app_saw, pulled = call("/gradio_api/call/summarize", [b"x" * 400] * 10)
    assert status == 413 and app_saw is None
    assert pulled == 3  # stopped reading at the chunk that crossed the cap


def test_bodies_within_the_cap_reach_the_app_whole():
    status, body, app_saw, _ = call("/gradio_api/call/summarize", [b"a" * 300, b"b" * 300])
    assert (status, body, app_saw) == (200, b"ok", b"a" * 300 + b"b" * 300)
    status, _, app_saw, _ = call("/gradio_api/call/summarize", [b"c" * 900], declared=900)
    assert status == 200 and app_saw == b"c" * 900


def test_a_malformed_length_is_refused():
    assert call("/config", [b""], declared="12abc")[0] == 413


def test_the_upload_route_keeps_its_own_limit():
    status, _, app_saw, _ = call("/gradio_api/upload", [b"u" * 5000], declared=5000)
    assert status == 200 and len(app_saw) == 5000
