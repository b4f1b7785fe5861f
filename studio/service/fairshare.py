"""Serve clients in turn: a round-robin waiting line, and a gate that lets one request at a time through it.

    line = RoundRobin()                      # per-client queues, least recently served client first
    line.push("10.0.0.7", job_id); line.pop()
    gate = FairGate(per_client=4)            # for generation: at most 4 requests in flight per client
    with gate.turn("token:ab12", address="10.0.0.7"):   # waits its turn; QueueFull at once over a cap
        summarize(...)                       # asks current_turn().should_step_aside() between decoding steps

First come, first served lets one script that sends twenty requests in a tenth of a
second make everyone else wait for all twenty. The training queue (RoundRobin) gives
each client (a person: studio/service/people.py) its own line and serves the waiting
client served least recently, so a newcomer goes before the flooder's second job.

Generation goes further, because one heavy summary (8 beams, 256 tokens) runs for
seconds: the gate charges each client the generation time it used (halving every
two minutes), lets the waiting client that used least go next, and a running request
steps aside between decoding steps when a client that used clearly less is waiting.
A person's quick summary then waits one decoding step, not a flooder's whole request.
Waiting also earns credit (AGE_CREDIT), so however many newcomers arrive with less usage,
a request that has waited long enough goes next: nobody waits without bound.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque
from contextlib import contextmanager
from contextvars import ContextVar

REMEMBERED_CLIENTS = 10_000   # when each client was last served; the oldest are forgotten beyond this
USAGE_HALF_LIFE_S = 120.0     # generation time a client used counts half after two minutes
# A running request steps aside only for a client that used at least this much less, so two
# people summarizing at once take turns in slices of about twice this (each runs until it is
# this much ahead of the other), not on every decoding step.
STEP_ASIDE_MARGIN_S = 0.25
# Each second a request waits forgives this many seconds of the generation time its person used.
# Without it the least-used person always goes first, and a steady stream of newcomers could keep
# a heavier user waiting for ever; with it a request that waited twice its person's usage beats
# any newcomer.
AGE_CREDIT = 0.5


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

    def others_waiting(self, client: str) -> bool:
        """True when an item of any other client waits."""
        return any(other != client for other in self._lines)

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


class Usage:
    """Seconds of generation each client used, halving every `half_life` seconds."""

    def __init__(self, half_life: float = USAGE_HALF_LIFE_S, clock=time.monotonic):
        self.half_life, self.clock = half_life, clock
        self._seconds: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (seconds, as of)

    def of(self, client: str, now: float | None = None) -> float:
        seconds, as_of = self._seconds.get(client, (0.0, 0.0))
        now = self.clock() if now is None else now
        return seconds * 0.5 ** (max(0.0, now - as_of) / self.half_life) if seconds else 0.0

    def add(self, client: str, seconds: float, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self._seconds[client] = (self.of(client, now) + seconds, now)
        self._seconds.move_to_end(client)
        while len(self._seconds) > REMEMBERED_CLIENTS:
            self._seconds.popitem(last=False)


class Turn:
    """A request's place at the gate while it runs: generation asks it, between steps, whether to
    let a waiting client go first (`step_aside_if_asked`)."""

    def __init__(self, gate: FairGate, client: str, arrival: int, address: str = ""):
        self.gate, self.client, self.arrival, self.address = gate, client, arrival, address
        self.started = 0.0   # when its current slice of running began (gate's clock)
        self.waiting_since = 0.0   # when it last joined the waiting line (gate's clock)

    def should_step_aside(self) -> bool:
        return self.gate._should_step_aside(self)

    def step_aside(self) -> None:
        """Wait while the clients that used less run; returns when this request may go on."""
        self.gate._step_aside(self)


_CURRENT_TURN: ContextVar[Turn | None] = ContextVar("studio_generation_turn", default=None)


def current_turn() -> Turn | None:
    """The gate turn the code running now is inside (None outside a turn: the CLI, a training job)."""
    return _CURRENT_TURN.get()


class FairGate:
    """At most `slots` requests run at once. The waiting request of the client that used the
    least generation time recently, less its waiting credit, goes next (ties: the earliest); a
    client (a person) with `per_client` requests already waiting or running is refused at once,
    and so is an address with `per_address` (a room's cap)."""

    def __init__(self, per_client: int, slots: int = 1, what: str = "requests",
                 margin: float = STEP_ASIDE_MARGIN_S, usage: Usage | None = None, per_address: int | None = None,
                 age_credit: float = AGE_CREDIT):
        if per_client < 1 or slots < 1:
            raise ValueError("A gate needs at least one slot and one request per client.")
        self.per_client, self.slots, self.what, self.margin = per_client, slots, what, margin
        self.per_address, self.age_credit = per_address, age_credit
        self._from_address: dict[str, int] = {}
        self.usage = usage or Usage()
        self._waiting: list[Turn] = []
        self._running: list[Turn] = []
        self._in_flight: dict[str, int] = {}
        self._arrivals = itertools.count()
        self._cond = threading.Condition()

    def in_flight(self, client: str) -> int:
        with self._cond:
            return self._in_flight.get(client, 0)

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    @contextmanager
    def turn(self, client: str, address: str = ""):
        with self._cond:
            mine = self._in_flight.get(client, 0)
            if mine >= self.per_client:
                raise QueueFull(f"You already have {mine} {self.what} waiting or running; this studio takes "
                                f"at most {self.per_client} at a time from one person. Wait for one to finish.")
            from_address = self._from_address.get(address, 0)
            if address and self.per_address is not None and from_address >= self.per_address:
                raise QueueFull(f"{from_address} {self.what} from your address are waiting or running; this studio "
                                f"takes at most {self.per_address} at a time from one address. Try again in a "
                                "moment.")
            self._in_flight[client] = mine + 1
            if address:
                self._from_address[address] = from_address + 1
            turn = Turn(self, client, next(self._arrivals), address)
            try:
                self._wait_to_run(turn)
            except BaseException:
                self._release(client, address)
                raise
        token = _CURRENT_TURN.set(turn)
        try:
            yield turn
        finally:
            _CURRENT_TURN.reset(token)
            with self._cond:
                self._stop_running(turn)
                self._release(client, address)

    # ------------------------------------------------------------------ under self._cond
    def _used(self, client: str, now: float) -> float:
        """What the client used, counting the slices its requests are running now."""
        return self.usage.of(client, now) + sum(now - t.started for t in self._running if t.client == client)

    def _priority(self, turn: Turn, now: float) -> float:
        """Lower goes first: what its person used, less the credit its wait has earned."""
        return self._used(turn.client, now) - self.age_credit * (now - turn.waiting_since)

    def _next(self, now: float) -> Turn | None:
        return min(self._waiting, key=lambda t: (self._priority(t, now), t.arrival), default=None)

    def _wait_to_run(self, turn: Turn) -> None:
        turn.waiting_since = self.usage.clock()
        self._waiting.append(turn)
        self._cond.notify_all()
        try:
            while len(self._running) >= self.slots or self._next(self.usage.clock()) is not turn:
                # Priorities drift as waiting earns credit: look again now and then, not only when woken.
                self._cond.wait(timeout=1.0)
        except BaseException:
            self._waiting.remove(turn)
            self._cond.notify_all()
            raise
        self._waiting.remove(turn)
        turn.started = self.usage.clock()
        self._running.append(turn)

    def _stop_running(self, turn: Turn) -> None:
        if turn not in self._running:   # it was waiting again after stepping aside when it was interrupted
            return
        now = self.usage.clock()
        self._running.remove(turn)
        self.usage.add(turn.client, now - turn.started, now)

    def _release(self, client: str, address: str = "") -> None:
        for counts, key in ((self._in_flight, client), (self._from_address, address)):
            if key in counts:
                left = counts[key] - 1
                if left:
                    counts[key] = left
                else:
                    del counts[key]
        self._cond.notify_all()

    def _should_step_aside(self, turn: Turn) -> bool:
        with self._cond:
            if not self._waiting:
                return False
            now = self.usage.clock()
            best = self._next(now)
            return (best.client != turn.client
                    and self._priority(best, now) + self.margin < self._used(turn.client, now))

    def _step_aside(self, turn: Turn) -> None:
        with self._cond:
            self._stop_running(turn)
            self._wait_to_run(turn)   # keeps its arrival number: first in its own client's line
