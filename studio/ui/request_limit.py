"""Caps on request bodies before Gradio reads them: every route, uploads per request, and uploads per client.

The handlers refuse a dialogue over 20,000 characters, but only after the server has
read and parsed the whole request: a client could make it hold hundreds of megabytes
of JSON first. This ASGI middleware answers 413 as soon as the declared length, or the
bytes received so far, pass the cap. What arrived is what counts: a body sent chunked
with a small Content-Length beside it is counted byte by byte all the same.

Gradio's upload route (POST /gradio_api/upload, exactly that path below the app's root)
streams files to its temp folder instead, so it gets its own rules: a declared length
is required, the whole request (not only each file: Gradio's max_file_size is per file)
may be at most `upload_bytes` and no more than it declared, and one address may upload at
most `budget.limit` bytes per `budget.window` seconds (charged for the bytes that arrived;
an upload carries no session, so it cannot be charged to a person), which bounds the temp
space one address can hold until Gradio's cache clean-up (delete_cache) removes the files.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque

from studio.config.settings import MAX_UPLOAD_BYTES

from .turns import address_from

MAX_REQUEST_BYTES = 16 * 1024 * 1024  # a 20,000-character dialogue is at most ~120 kB of escaped JSON
UPLOAD_ROUTE = "/gradio_api/upload"    # gradio 6: APIRouter(prefix="/gradio_api") + @router.post("/upload")
MULTIPART_SLACK = 64 * 1024            # boundaries and part headers around one largest file
MAX_UPLOAD_REQUEST_BYTES = MAX_UPLOAD_BYTES + MULTIPART_SLACK
UPLOAD_BUDGET_BYTES = 2 * MAX_UPLOAD_BYTES   # per client and window; the app itself takes no uploads
UPLOAD_WINDOW_SECONDS = 3600                 # as long as Gradio keeps uploaded files (delete_cache age)


class UploadBudget:
    """Bytes each client may upload per sliding window.

    reserve() holds the declared size while the upload arrives (so parallel uploads cannot all
    pass the check at once) and settle() then charges what actually arrived: a client that
    declares 50 MB and sends 70 bytes is charged 70 bytes.
    """

    def __init__(self, limit: int = UPLOAD_BUDGET_BYTES, window: float = UPLOAD_WINDOW_SECONDS, clock=time.monotonic):
        self.limit, self.window, self._clock = limit, window, clock
        self._spent: dict[str, deque] = {}     # client -> [time, bytes] entries of its uploads in the window
        self._lock = threading.Lock()

    def _forget_old(self, now: float) -> None:
        for name in list(self._spent):      # forget what left the window, and clients with nothing left
            entries = self._spent[name]
            while entries and entries[0][0] <= now - self.window:
                entries.popleft()
            if not entries:
                del self._spent[name]

    def reserve(self, client: str, size: int) -> list | None:
        """Hold `size` bytes for an upload now arriving; None when it does not fit the client's budget."""
        now = self._clock()
        with self._lock:
            self._forget_old(now)
            used = sum(entry[1] for entry in self._spent.get(client, ()))
            if used + size > self.limit:
                return None
            entry = [now, size]
            self._spent.setdefault(client, deque()).append(entry)
            return entry

    def settle(self, entry: list, arrived: int) -> None:
        """Charge what arrived instead of what was reserved."""
        with self._lock:
            entry[1] = arrived

    def charge(self, client: str, size: int) -> bool:
        """Reserve and settle at once: whether `size` more bytes fit."""
        return self.reserve(client, size) is not None


def route_path(scope) -> str:
    """The path below the app's root (a mounted app sees its mount point in root_path)."""
    path, root = scope.get("path", ""), scope.get("root_path", "") or ""
    return path[len(root):] if root and path.startswith(root) else path


def is_upload(scope) -> bool:
    return scope.get("method", "POST") == "POST" and route_path(scope) == UPLOAD_ROUTE


class RequestSizeLimit:
    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES, upload_bytes: int = MAX_UPLOAD_REQUEST_BYTES,
                 upload_budget: UploadBudget | None = None, proxy_hops: int = 0):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes
        self.upload_budget = upload_budget or UploadBudget()
        self.proxy_hops = proxy_hops

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope.get("headers") or []
        declared = next((value for name, value in headers if name == b"content-length"), None)
        if is_upload(scope):
            return await self._upload(scope, receive, send, headers, declared)
        # A declared length is only the client's word: the server frames the body by
        # Transfer-Encoding when both are sent. So it can refuse early, never admit: the bytes
        # are counted as they arrive, up to the cap, and handed on in one piece.
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await _refuse(send, 413, f"Request too large: the limit is {_size(self.max_bytes)}.")
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.max_bytes:
                return await _refuse(send, 413, f"Request too large: the limit is {_size(self.max_bytes)}.")
            if not message.get("more_body"):
                break
        replayed = False

        async def replay_receive():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay_receive, send)

    async def _upload(self, scope, receive, send, headers, declared):
        # Browsers and gradio_client declare an upload's length; the app streams uploads to disk,
        # so they are not buffered here but counted as they pass, and cut off at the declared size.
        if declared is None or not declared.isdigit():
            return await _refuse(send, 411, "Uploads must declare their length (Content-Length).")
        size = int(declared)
        if size > self.upload_bytes:
            return await _refuse(send, 413, f"Upload too large: {_size(size)}; one upload request may carry at "
                                            f"most {_size(self.upload_bytes)}, all files together.")
        host = (scope.get("client") or (None,))[0]
        forwarded = [value for name, value in headers if name == b"x-forwarded-for"]
        client = address_from(host, forwarded, self.proxy_hops)
        reservation = self.upload_budget.reserve(client, size)
        if reservation is None:
            return await _refuse(send, 429, f"Too many uploads from your address: at most "
                                            f"{_size(self.upload_budget.limit)} per "
                                            f"{self.upload_budget.window / 60:.0f} minutes.")
        arrived, over, started = 0, False, False

        async def counted_receive():
            nonlocal arrived, over
            message = await receive()
            if message["type"] == "http.request":
                arrived += len(message.get("body", b""))
                if arrived > size:       # more than declared: stop the app reading, answer 413 below
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            nonlocal started
            if over:
                return           # the app's answer to a body it never got whole
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over:
                raise
        finally:
            self.upload_budget.settle(reservation, min(arrived, size))
        if over and not started:
            await _refuse(send, 413, f"Upload larger than it declared: more than {_size(size)} arrived.")


def _size(size: int) -> str:
    """Exact bytes, with MB for scale: '52,428,801 bytes (50.0 MB)' tells 50 MB + 1 byte from 50 MB."""
    return f"{size:,} bytes ({size / 2**20:.1f} MB)"


async def _refuse(send, status: int, message: str):
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
