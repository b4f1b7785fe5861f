"""A spoofed X-Forwarded-For is not believed when no proxy is declared, against a real `python app.py`.

The flooder connects from 127.0.0.1 and gives every request its own made-up
X-Forwarded-For address; STUDIO_PROXY_HOPS is unset. Before the fix uvicorn rewrote the
peer from the header, so twenty heavy summaries were all admitted and another person's
short summary took 85 s instead of 0.5 s. Now every request is charged to the connection
itself: the flood gets its share (4) and the rest are refused at once; a person on another
address (127.0.0.2, a real second peer on the loopback) is served before the flooder's
share; the upload budget is charged to 127.0.0.1 whatever the header says.

No wall-clock limits: order and refusals are asserted. Latencies are printed (pytest -s) and
quoted in docs/reliability.md.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import pytest

from studio.model.methods import registry
from tests.app_server import running_app
from tests.scenarios.test_fair_share_api import HEAVY, LIGHT

pytestmark = pytest.mark.slow  # one app server and a flood of generations
FLOOD = 12
SHARE = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory, cache_dir):
    tmp = tmp_path_factory.mktemp("spoof")
    env = {"STUDIO_RUNS_DIR": str(tmp / "runs"), "STUDIO_CACHE_DIR": str(cache_dir), "STUDIO_PROXY_HOPS": None,
           "FORWARDED_ALLOW_IPS": "*",   # an operator's stray uvicorn setting must not bring the header back
           "STUDIO_MAX_GENERATIONS_PER_CLIENT": str(SHARE)}
    with running_app(tmp, env, startup_limit=300) as app:
        yield app


def request(base: str, source: str, method: str, path: str, body: bytes = b"", headers: dict | None = None,
            timeout: float = 600):
    """One HTTP request from the loopback address `source`: (status, body, the open response for streams)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout, source_address=(source, 0))
    connection.request(method, path, body=body or None, headers=headers or {})
    return connection.getresponse()


class Summary:
    """A /call/summarize sent from `source` with a forged X-Forwarded-For; result() reads its outcome."""

    def __init__(self, base: str, source: str, forged: str | None, dialogue: str, tokens: int, beams: int):
        self.base, self.source = base, source
        self.headers = {"X-Forwarded-For": forged} if forged else {}
        # The Compare button's inputs: the dialogue, a run per default method, tokens, beams, the example it came
        # from, then a run per optional method.
        data = [dialogue, *["none"] * len(registry.DEFAULT_NAMES), tokens, beams, None,
                *["none"] * len(registry.OPTIONAL_NAMES)]
        payload = json.dumps({"data": data}).encode()
        response = request(base, source, "POST", "/gradio_api/call/summarize", payload,
                           {"Content-Type": "application/json", **self.headers})
        body = response.read()
        assert response.status == 200, body[:300]
        self.event_id = json.loads(body)["event_id"]
        self.sent, self.done_at, self.outcome, self.message = time.perf_counter(), None, None, None

    def result(self):
        response = request(self.base, self.source, "GET", f"/gradio_api/call/summarize/{self.event_id}",
                           headers=self.headers)
        event = None
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line[5:].strip() or "null")
                self.outcome = event
                self.message = data.get("error") if isinstance(data, dict) else data
                break
        self.done_at = time.perf_counter()
        return self


def test_forged_addresses_from_one_connection_are_one_client(server):
    base = server["url"]
    warm = Summary(base, "127.0.0.3", None, HEAVY, 256, 8).result()   # first-shape cost, off the figures
    assert warm.outcome == "complete", warm.message
    normal = Summary(base, "127.0.0.2", None, LIGHT, 16, 1).result()
    assert normal.outcome == "complete", normal.message

    flood = [Summary(base, "127.0.0.1", f"10.8.{i}.{i}", HEAVY, 256, 8) for i in range(FLOOD)]
    threads = [threading.Thread(target=call.result, daemon=True) for call in flood]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 600   # only keeps a broken gate from hanging the suite
    while sum(call.outcome == "error" for call in flood) < FLOOD - SHARE:
        assert time.monotonic() < deadline, [call.message for call in flood]
        time.sleep(0.05)
    victim = Summary(base, "127.0.0.2", None, LIGHT, 16, 1).result()
    for thread in threads:
        thread.join(600)

    assert victim.outcome == "complete", victim.message
    refused = [call for call in flood if call.outcome == "error"]
    served = [call for call in flood if call.outcome == "complete"]
    assert len(refused) == FLOOD - SHARE and len(served) == SHARE, [call.message for call in flood]
    assert all(f"at most {SHARE} at a time" in call.message for call in refused), refused[0].message
    assert sum(call.done_at < victim.done_at for call in served) == 0   # served before the flooder's share
    print(f"\nSpoofed X-Forwarded-For, no proxy declared: {len(refused)} of {FLOOD} refused at once; "
          f"the other person's summary {normal.done_at - normal.sent:.2f} s alone, "
          f"{victim.done_at - victim.sent:.2f} s under the flood")


def _upload(base: str, source: str, forged: str, size: int) -> int:
    boundary = "spoof-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"part.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + b"\0" * size + \
        f"\r\n--{boundary}--\r\n".encode()
    try:
        response = request(base, source, "POST", "/gradio_api/upload", body,
                           {"Content-Type": f"multipart/form-data; boundary={boundary}", "X-Forwarded-For": forged},
                           timeout=120)
        response.read()
        return response.status
    except (ConnectionError, http.client.HTTPException):
        return 413   # refused while still sending


def test_the_upload_budget_is_charged_to_the_connection_not_the_header(server):
    from studio.ui.request_limit import UPLOAD_BUDGET_BYTES

    size = UPLOAD_BUDGET_BYTES // 3 + 1024          # three of these do not fit one address's budget
    statuses = [_upload(server["url"], "127.0.0.4", f"10.9.{i}.{i}", size) for i in range(3)]
    assert statuses[:2] == [200, 200] and statuses[2] == 429, statuses
    assert _upload(server["url"], "127.0.0.5", "10.9.0.0", 1024) == 200   # another address still may
