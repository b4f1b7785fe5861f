"""Who is asking: a person, and the address they came from. The unit of fair sharing is the person.

    caller = Caller.of("10.0.0.7", token=signed_token)     # person "token:<hash>", address "10.0.0.7"
    caller = Caller.of("10.0.0.7", hf_user="anna")         # person "hf:anna": one identity on every device
    caller = Caller.of("10.0.0.7")                          # person "anon@10.0.0.7": no token, no sign-in
    sessions = SessionPeople(); sessions.remember("session-hash", token); sessions.token("session-hash")

A workshop room behind one venue Wi-Fi is one address, so trainings, generation turns and
their caps are charged to people: the signed-in Hugging Face user where the Space enables
OAuth, else the owner token this studio signed for the browser. A request with neither (a
script that never loaded the page) is one anonymous person per address, so such a script
cannot multiply itself by opening sessions. The address keeps only a coarse cap sized for a
room (Settings.people_per_address).

Which token a session holds is known server-side: the page-load event adopts or issues it
and remembers it under the session's hash, so no event has to carry the owner state as an
input to be charged correctly.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

UNKNOWN_ADDRESS = "unknown"
REMEMBERED_SESSIONS = 20_000   # session -> token; the oldest are forgotten beyond this (a page reload re-registers)


def token_person(token: str) -> str:
    """A person key for an owner token: a hash, so the key itself grants nothing."""
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Caller:
    person: str            # what turns and per-person caps are charged to
    address: str           # what the coarse per-address cap is charged to
    signed_in: bool = False

    @classmethod
    def of(cls, address: str | None, token: str | None = None, hf_user: str | None = None) -> Caller:
        address = address or UNKNOWN_ADDRESS
        if hf_user:
            return cls("hf:" + hf_user, address, signed_in=True)
        if token:
            return cls(token_person(token), address)
        return cls("anon@" + address, address)


@dataclass
class SessionInfo:
    token: str = ""
    presenter: bool = False   # the page was opened with ?presenter=1


class SessionPeople:
    """What the server knows about each browser session: its owner token, and whether it is a presenter page."""

    def __init__(self, limit: int = REMEMBERED_SESSIONS):
        self._sessions: OrderedDict[str, SessionInfo] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def _info(self, session: str) -> SessionInfo:
        info = self._sessions.get(session)
        if info is None:
            info = self._sessions[session] = SessionInfo()
            while len(self._sessions) > self._limit:
                self._sessions.popitem(last=False)
        self._sessions.move_to_end(session)
        return info

    def remember(self, session: str | None, token: str) -> None:
        if session and token:
            with self._lock:
                self._info(session).token = token

    def mark_presenter(self, session: str | None, on: bool) -> None:
        if session:
            with self._lock:
                self._info(session).presenter = bool(on)

    def token(self, session: str | None) -> str:
        with self._lock:
            info = self._sessions.get(session or "")
            return info.token if info else ""

    def is_presenter(self, session: str | None) -> bool:
        with self._lock:
            info = self._sessions.get(session or "")
            return bool(info and info.presenter)
