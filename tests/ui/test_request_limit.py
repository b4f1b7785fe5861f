"""The request-size cap in front of Gradio: big bodies are refused before anyone reads them."""
import asyncio
import json

import pytest

from studio.ui.request_limit import RequestSizeLimit, UploadBudget, _size

LIMIT = 1000
UPLOAD_LIMIT = 10_000


def call(path, chunks, declared=None, root_path="", client="10.0.0.1", middleware=None, forwarded=None):
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
    if forwarded:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    scope = {"type": "http", "method": "POST", "path": root_path + path, "root_path": root_path,
             "headers": headers, "client": (client, 5000)}
    middleware = middleware or RequestSizeLimit(None, max_bytes=LIMIT, upload_bytes=UPLOAD_LIMIT)
    middleware.app = app
    asyncio.run(middleware(scope, receive, send))
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
    # The same route below a root path (a mounted app) is the same route.
    status, _, app_saw, _ = call("/gradio_api/upload", [b"u" * 5000], declared=5000, root_path="/studio")
    assert status == 200 and len(app_saw) == 5000


@pytest.mark.parametrize("path", ["/gradio_api/call/upload", "/run/upload", "/api/upload", "/call/v2/upload",
                                  "/gradio_api/call/v2/upload", "/gradio_api/upload/extra", "/x/gradio_api/upload"])
def test_only_the_real_upload_route_is_exempt_from_the_request_cap(path):
    status, _, app_saw, pulled = call(path, [b"x" * 5000], declared=5000)
    assert status == 413 and app_saw is None and pulled == 0, path
    status, _, app_saw, _ = call(path, [b"x" * 400] * 10)  # chunked: cut off too
    assert status == 413 and app_saw is None


def test_an_upload_request_is_capped_as_a_whole_not_per_file():
    # Ten files of 2,000 bytes in one request: each is small, together they pass the request cap.
    status, body, app_saw, pulled = call("/gradio_api/upload", [b"f" * 2000] * 10, declared=20_000)
    assert status == 413 and app_saw is None and pulled == 0
    assert json.loads(body)["error"] == ("Upload too large: 20,000 bytes (0.0 MB); one upload request may carry "
                                         "at most 10,000 bytes (0.0 MB), all files together.")


def test_an_upload_without_a_declared_length_is_refused_unread():
    status, _, app_saw, pulled = call("/gradio_api/upload", [b"u" * 400] * 3)
    assert status == 411 and app_saw is None and pulled == 0


def test_each_client_has_an_upload_budget_per_window():
    now = [0.0]
    middleware = RequestSizeLimit(None, max_bytes=LIMIT, upload_bytes=UPLOAD_LIMIT,
                                  upload_budget=UploadBudget(limit=15_000, window=60, clock=lambda: now[0]))

    def upload(client, size=6000, forwarded=None):
        return call("/gradio_api/upload", [b"u" * size], declared=size, client=client, middleware=middleware,
                    forwarded=forwarded)[0]

    assert [upload("10.0.0.5") for _ in range(3)] == [200, 200, 429]   # 12,000 kept; 18,000 would pass 15,000
    assert upload("10.0.0.6") == 200                                    # someone else is not charged
    # Without trusted proxies, X-Forwarded-For is the client's own word and changes nothing.
    assert upload("10.0.0.6", size=9001, forwarded="1.2.3.4") == 429
    now[0] = 30.0
    assert upload("10.0.0.5", size=3000) == 200 and upload("10.0.0.5", size=10) == 429
    now[0] = 61.0                                                       # the first two left the window
    assert upload("10.0.0.5") == 200


def test_behind_a_trusted_proxy_the_forwarded_address_is_charged():
    middleware = RequestSizeLimit(None, max_bytes=LIMIT, upload_bytes=UPLOAD_LIMIT, proxy_hops=1,
                                  upload_budget=UploadBudget(limit=10_000, window=60))

    def upload(forwarded):  # every request arrives from the proxy, 10.0.0.254
        return call("/gradio_api/upload", [b"u" * 6000], declared=6000, client="10.0.0.254",
                    middleware=middleware, forwarded=forwarded)[0]

    assert upload("203.0.113.7") == 200 and upload("203.0.113.8") == 200
    assert upload("203.0.113.7") == 429
    assert upload("spoofed, 203.0.113.7") == 429   # the entry the client wrote itself is not believed


def test_sizes_in_messages_tell_50_mb_from_50_mb_and_one_byte():
    assert _size(50 * 2**20) == "52,428,800 bytes (50.0 MB)"
    assert _size(50 * 2**20 + 1) == "52,428,801 bytes (50.0 MB)"


def test_a_small_declared_length_does_not_admit_a_large_chunked_body():
    # Content-Length: 10 beside Transfer-Encoding: chunked: the server frames by the chunks, so
    # 2,000 bytes arrive; they are counted and refused, never handed to the app.
    status, _, app_saw, _ = call("/gradio_api/queue/join", [b"x" * 400] * 5, declared=10)
    assert status == 413 and app_saw is None


def test_an_upload_that_sends_more_than_it_declared_is_cut_off():
    status, body, app_saw, pulled = call("/gradio_api/upload", [b"u" * 400] * 10, declared=100)
    assert status == 413 and "larger than it declared" in json.loads(body)["error"]
    assert app_saw is None or len(app_saw) <= 100
    assert pulled == 1                      # stopped at the first chunk past the declared size


def test_the_upload_budget_is_charged_for_what_arrived_not_what_was_declared():
    budget = UploadBudget(limit=15_000, window=60, clock=lambda: 0.0)
    middleware = RequestSizeLimit(None, max_bytes=LIMIT, upload_bytes=UPLOAD_LIMIT, upload_budget=budget)

    def upload(chunks, declared):
        return call("/gradio_api/upload", chunks, declared=declared, middleware=middleware)[0]

    # Two uploads declare 7,000 bytes each and carry 70: the address is charged 140 bytes, not 14,000.
    assert upload([b"u" * 70], 7000) == 200 and upload([b"u" * 70], 7000) == 200
    assert upload([b"u" * 7000], 7000) == 200 and upload([b"u" * 7000], 7000) == 200   # 14,140 in all
    assert upload([b"u" * 1000], 1000) == 429
