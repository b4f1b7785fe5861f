"""Serve clients in turn: a round-robin waiting line, and a gate that lets one request at a time through it.

    line = RoundRobin()                      # per-client queues, least recently served client first
    line.push("10.0.0.7", job_id); line.pop()
    gate = FairGate(per_client=4)            # for generation: at most 4 requests in flight per client
    with gate.turn("10.0.0.7"):              # waits its turn; QueueFull at once when over the limit
        summarize(...)

First come, first served lets one script that sends twenty requests in a tenth of a
second make everyone else wait for all twenty. Here each client (an IP address, as
the UI decides) has its own line; the next one served is the waiting client served
least recently, so a newcomer goes before the flooder's second request.
"""
from __future__ import annotations

import itertools
import threading
from collections import OrderedDict, deque
from contextlib import contextmanager

REMEMBERED_CLIENTS = 10_000   # when each client was last served; the oldest are forgotten beyond this


class QueueFull(RuntimeError):
    """A client asked for more than its share; the message says what to do."""


class RoundRobin:
    """Items waiting per client; pop() serves the waiting client that was served least recently.

    Not thread-safe: the owner holds its own lock around every call.
    """

    def __init__(self):
        self._lines: dict[str, deque] = {}            # client -> its items, oldest first
        self._arrival: dict[object, int] = {}         # item -> arrival number (breaks ties: earlier first)
        self._client_of: dict[object, str] = {}
        self._last_served: OrderedDict[str, int] = OrderedDict()
        self._ticks = itertools.count()

    def __len__(self) -> int:
        return len(self._arrival)

    def __contains__(self, item) -> bool:
        return item in self._arrival

    def count(self, client: str) -> int:
        return len(self._lines.get(client, ()))

    def push(self, client: str, item) -> None:
        if item in self._arrival:
            raise ValueError("That item is already waiting.")
        self._lines.setdefault(client, deque()).append(item)
        self._arrival[item] = next(self._ticks)
        self._client_of[item] = client

    def peek(self):
        """The item pop() would return, or None when nothing waits."""
        order = self.order(limit=1)
        return order[0] if order else None

    def pop(self):
        item = self.peek()
        if item is None:
            raise IndexError("Nothing is waiting.")
        client = self._client_of[item]
        self.remove(item)
        self._last_served[client] = next(self._ticks)
        self._last_served.move_to_end(client)
        while len(self._last_served) > REMEMBERED_CLIENTS:
            self._last_served.popitem(last=False)
        return item

    def remove(self, item) -> bool:
        """Take a waiting item out of line (a cancelled job); False when it was not waiting."""
        if item not in self._arrival:
            return False
        client = self._client_of.pop(item)
        del self._arrival[item]
        line = self._lines[client]
        line.remove(item)
        if not line:
            del self._lines[client]
        return True

    def order(self, limit: int | None = None) -> list:
        """Waiting items in the order they will be served if nobody else arrives."""
        served = dict(self._last_served)
        heads = {client: 0 for client in self._lines}
        tick = max(served.values(), default=0) + 1
        out = []
        while heads and (limit is None or len(out) < limit):
            client = min(heads, key=lambda c: (served.get(c, -1), self._arrival[self._lines[c][heads[c]]]))
            out.append(self._lines[client][heads[client]])
            served[client], tick = tick, tick + 1
            heads[client] += 1
            if heads[client] == len(self._lines[client]):
                del heads[client]
        return out

    def position(self, item) -> int:
        """1-based place in serving order; 0 when the item is not waiting."""
        if item not in self._arrival:
            return 0
        return self.order().index(item) + 1


class FairGate:
    """At most `slots` requests run at once, taken in round-robin order across clients;
    a client with `per_client` requests already waiting or running is refused at once."""

    def __init__(self, per_client: int, slots: int = 1, what: str = "requests"):
        if per_client < 1 or slots < 1:
            raise ValueError("A gate needs at least one slot and one request per client.")
        self.per_client, self.slots, self.what = per_client, slots, what
        self._line = RoundRobin()
        self._in_flight: dict[str, int] = {}
        self._running = 0
        self._cond = threading.Condition()

    def in_flight(self, client: str) -> int:
        with self._cond:
            return self._in_flight.get(client, 0)

    def waiting(self) -> int:
        with self._cond:
            return len(self._line)

    @contextmanager
    def turn(self, client: str):
        ticket = object()
        with self._cond:
            mine = self._in_flight.get(client, 0)
            if mine >= self.per_client:
                raise QueueFull(f"You already have {mine} {self.what} waiting or running; this studio takes "
                                f"at most {self.per_client} at a time from one address. Wait for one to finish.")
            self._in_flight[client] = mine + 1
            self._line.push(client, ticket)
            try:
                while self._running >= self.slots or self._line.peek() is not ticket:
                    self._cond.wait()
            except BaseException:
                self._line.remove(ticket)
                self._release(client, ran=False)
                raise
            self._line.pop()
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._release(client, ran=True)

    def _release(self, client: str, ran: bool) -> None:
        if ran:
            self._running -= 1
        left = self._in_flight[client] - 1
        if left:
            self._in_flight[client] = left
        else:
            del self._in_flight[client]
        self._cond.notify_all()
