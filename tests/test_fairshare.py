"""Fair turns: a client that sends many or heavy requests cannot push another client's request back."""
import threading

import pytest

from studio.service.fairshare import FairGate, QueueFull, RoundRobin, Usage, current_turn


def test_round_robin_serves_the_least_recently_served_client_first():
    line = RoundRobin()
    for i in range(3):
        line.push("flooder", f"f{i}")
    assert line.pop() == "f0"               # the flooder was alone: it is served
    line.push("victim", "v0")               # a newcomer goes before the flooder's second request
    line.push("third", "t0")
    assert line.order() == ["v0", "t0", "f1", "f2"]
    assert [line.position(x) for x in ("v0", "t0", "f1", "f2", "gone")] == [1, 2, 3, 4, 0]
    assert [line.pop() for _ in range(4)] == ["v0", "t0", "f1", "f2"]
    with pytest.raises(IndexError):
        line.pop()


def test_round_robin_alternates_between_busy_clients_and_can_cancel():
    line = RoundRobin()
    for i in range(3):
        line.push("a", f"a{i}")
        line.push("b", f"b{i}")
    assert line.remove("a1") and not line.remove("a1")
    assert line.count("a") == 2 and len(line) == 5 and "a1" not in line
    assert [line.pop() for _ in range(5)] == ["a0", "b0", "a2", "b1", "b2"]
    line.push("a", "x")
    with pytest.raises(ValueError):
        line.push("b", "x")


def test_the_gate_refuses_a_clients_extra_requests_at_once():
    gate = FairGate(per_client=2, what="summaries")

    def second_request():
        with gate.turn("flooder"):   # waits for the slot the first one holds
            pass

    with gate.turn("flooder"):
        second = threading.Thread(target=second_request)
        second.start()
        while gate.waiting() < 1:
            pass
        with pytest.raises(QueueFull, match="2 summaries waiting or running; this studio takes at most 2"), \
                gate.turn("flooder"):
            pass
        assert gate.in_flight("flooder") == 2
    second.join(30)
    assert gate.in_flight("flooder") == 0


def test_the_gate_lets_a_newcomer_in_before_a_flooders_waiting_requests():
    gate = FairGate(per_client=5)
    order, started = [], threading.Event()
    release = threading.Event()

    def request(client, name, hold=False):
        with gate.turn(client):
            order.append(name)
            if hold:
                started.set()
                release.wait(30)

    threads = [threading.Thread(target=request, args=("flooder", "f0", True))]
    threads[0].start()
    started.wait(30)
    for i in range(1, 4):
        threads.append(threading.Thread(target=request, args=("flooder", f"f{i}")))
        threads[-1].start()
    while gate.waiting() < 3:
        pass
    threads.append(threading.Thread(target=request, args=("victim", "v0")))
    threads[-1].start()
    while gate.waiting() < 4:
        pass
    release.set()
    for thread in threads:
        thread.join(30)
    assert order[:2] == ["f0", "v0"] and sorted(order[2:]) == ["f1", "f2", "f3"]
    assert gate.in_flight("flooder") == 0 and gate.waiting() == 0


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_usage_halves_every_half_life_and_adds_up():
    clock = FakeClock()
    usage = Usage(half_life=10, clock=clock)
    usage.add("a", 4.0)
    clock.now += 10
    assert usage.of("a") == pytest.approx(2.0) and usage.of("nobody") == 0.0
    usage.add("a", 1.0)
    clock.now += 20
    assert usage.of("a") == pytest.approx(0.75)


def test_the_waiting_client_that_used_least_goes_next():
    clock = FakeClock()
    gate = FairGate(per_client=5, usage=Usage(clock=clock))
    gate.usage.add("heavy", 30.0)
    gate.usage.add("light", 1.0)
    order, threads = [], []
    with gate.turn("holder"):
        for client in ("heavy", "light", "new"):       # arrive in this order while the slot is taken
            threads.append(threading.Thread(target=lambda c=client: _run_turn(gate, c, order)))
            threads[-1].start()
            while gate.waiting() < len(threads):
                pass
    for thread in threads:
        thread.join(30)
    assert order == ["new", "light", "heavy"]


def _run_turn(gate, client, order):
    with gate.turn(client):
        order.append(client)


def test_a_running_request_steps_aside_for_a_client_that_used_clearly_less():
    clock = FakeClock()
    gate = FairGate(per_client=5, margin=0.25, usage=Usage(clock=clock))
    order = []
    with gate.turn("flooder") as flooder:
        assert current_turn() is flooder
        clock.now += 5.0                               # five seconds into a heavy summary
        assert not flooder.should_step_aside()         # nobody waits
        victim = threading.Thread(target=_run_turn, args=(gate, "victim", order))
        victim.start()
        while gate.waiting() < 1:
            pass
        assert flooder.should_step_aside()
        flooder.step_aside()                           # returns after the victim's turn
        assert order == ["victim"] and gate.waiting() == 0 and current_turn() is flooder
        order.append("flooder")
    victim.join(30)
    assert current_turn() is None
    assert gate.usage.of("flooder") == pytest.approx(5.0) and gate.in_flight("flooder") == 0


def test_requests_of_one_client_or_of_similar_users_do_not_step_aside():
    clock = FakeClock()
    gate = FairGate(per_client=5, margin=0.25, usage=Usage(clock=clock))
    gate.usage.add("b", 1.0)
    with gate.turn("a") as running:
        clock.now += 1.1
        waiters = [threading.Thread(target=_run_turn, args=(gate, client, [])) for client in ("a", "b")]
        for thread in waiters:
            thread.start()
        while gate.waiting() < 2:
            pass
        # "a" itself waits too; "b" used 1.0 s against a's 1.1 s: within the margin, no swap.
        assert not running.should_step_aside()
        clock.now += 0.5                               # now b is clearly lighter
        assert running.should_step_aside()
    for thread in waiters:
        thread.join(30)


def test_waiting_earns_credit_so_a_heavy_user_is_not_starved_by_newcomers():
    # Six sessions at once once left one person waiting 70 s, because the gate always picked
    # the least-used client and newcomers kept arriving with less usage.
    clock = FakeClock()
    gate = FairGate(per_client=5, usage=Usage(clock=clock), age_credit=0.5)
    gate.usage.add("heavy", 10.0)
    order = []
    with gate.turn("holder"):
        heavy = threading.Thread(target=_run_turn, args=(gate, "heavy", order))
        heavy.start()
        while gate.waiting() < 1:
            pass
        clock.now += 21.0                  # heavy has waited 21 s: credit 10.5 > its 10 s of usage
        newcomer = threading.Thread(target=_run_turn, args=(gate, "newcomer", order))
        newcomer.start()
        while gate.waiting() < 2:
            pass
    heavy.join(30)
    newcomer.join(30)
    assert order == ["heavy", "newcomer"]


def test_without_enough_wait_the_lighter_newcomer_still_goes_first():
    clock = FakeClock()
    gate = FairGate(per_client=5, usage=Usage(clock=clock), age_credit=0.5)
    gate.usage.add("heavy", 10.0)
    order = []
    with gate.turn("holder"):
        heavy = threading.Thread(target=_run_turn, args=(gate, "heavy", order))
        heavy.start()
        while gate.waiting() < 1:
            pass
        clock.now += 5.0                   # credit 2.5: still well above a newcomer's 0
        newcomer = threading.Thread(target=_run_turn, args=(gate, "newcomer", order))
        newcomer.start()
        while gate.waiting() < 2:
            pass
    heavy.join(30)
    newcomer.join(30)
    assert order == ["newcomer", "heavy"]


def test_people_of_one_address_each_get_their_share_up_to_the_rooms_cap():
    gate = FairGate(per_client=1, per_address=3, what="summaries")
    release, threads = threading.Event(), []

    def hold(person):
        with gate.turn(person, address="10.0.0.7"):
            release.wait(30)

    with gate.turn("alice", address="10.0.0.7"):
        for person in ("bob", "carol"):          # one room, three people: all let in
            threads.append(threading.Thread(target=hold, args=(person,)))
            threads[-1].start()
        while gate.waiting() < 2:
            pass
        with pytest.raises(QueueFull, match="at most 1 at a time from one person"):
            with gate.turn("alice", address="10.0.0.7"):
                pass
        with pytest.raises(QueueFull, match="3 summaries from your address .* at most 3 at a time from one address"):
            with gate.turn("dave", address="10.0.0.7"):
                pass
        release.set()
    for thread in threads:
        thread.join(30)
    assert gate.in_flight("bob") == 0
    with gate.turn("dave", address="10.0.0.7"):   # the room's places came back
        pass
