"""A cap on the size of request bodies, before Gradio reads them.

The handlers refuse a dialogue over 20,000 characters, but only after the
server has read and parsed the whole request: a client could make it hold
hundreds of megabytes of JSON first. This ASGI middleware answers 413 as soon
as the declared length, or the bytes received so far, pass the cap. Gradio's
upload route is left to its own limit (`max_file_size`).
"""
from __future__ import annotations

import json

MAX_REQUEST_BYTES = 16 * 1024 * 1024  # a 20,000-character dialogue is at most ~120 kB of escaped JSON


class RequestSizeLimit:
    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES, exempt_suffixes: tuple[str, ...] = ("/upload",)):
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_suffixes = exempt_suffixes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].rstrip("/").endswith(self.exempt_suffixes):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            # The server holds the client to the length it declared, so checking it is enough.
            if not declared.isdigit() or int(declared) > self.max_bytes:
                return await self._refuse(send)
            return await self.app(scope, receive, send)

        # No declared length (a chunked body, or none at all): read it here, up to the cap, then
        # hand it on in one piece; later receive() calls (disconnect notices) go straight through.
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            total += len(chunks[-1])
            if total > self.max_bytes:
                return await self._refuse(send)
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

    async def _refuse(self, send):
        body = json.dumps({"error": f"Request too large: the limit is {self.max_bytes // (1024 * 1024)} MB."}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
