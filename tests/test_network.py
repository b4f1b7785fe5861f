"""studio/model/network.py: offline is decided by one short probe that never waits out a hung connection."""
import threading
import urllib.error

from studio.model import network


def _fake_urlopen(monkeypatch, behaviour):
    seen = {}

    def urlopen(request, timeout):
        seen.update(url=request.full_url, method=request.get_method(), timeout=timeout)
        return behaviour()

    monkeypatch.setattr(network.urllib.request, "urlopen", urlopen)
    return seen


class _Answer:
    def close(self):
        pass


def test_a_hung_connection_is_given_up_on_without_waiting_for_it(monkeypatch):
    # An unroutable address or a stuck DNS look-up hangs for minutes and ignores the socket timeout:
    # here the "connection" hangs until the test releases it, and the probe must answer before that.
    release = threading.Event()
    seen = _fake_urlopen(monkeypatch, lambda: release.wait(600) and _Answer())
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example/")
    try:
        assert network.network_available(timeout=0.2) is False
        assert not release.is_set()        # answered while the connection still hung
    finally:
        release.set()
    assert seen == {"url": "https://hub.example/api/health", "method": "HEAD", "timeout": 0.2}


def _http_error():
    raise urllib.error.HTTPError("https://hub.example/api/health", 503, "busy", {}, None)


def _refused():
    raise ConnectionRefusedError("refused")


def test_any_http_answer_means_reachable_and_a_refusal_does_not(monkeypatch):
    _fake_urlopen(monkeypatch, _Answer)
    assert network.network_available() is True
    _fake_urlopen(monkeypatch, _http_error)     # the hub answered, if only with an error status
    assert network.network_available() is True
    _fake_urlopen(monkeypatch, _refused)
    assert network.network_available() is False


def test_the_operators_word_wins_and_a_probe_runs_once(monkeypatch):
    from studio.config.settings import Settings

    probes = []
    monkeypatch.setattr(network, "network_available", lambda: probes.append(1) or False)
    monkeypatch.setattr(network, "enter_offline_mode", lambda: None)
    assert network.is_offline(Settings.from_env(env={}, offline=False)) is False and probes == []
    undecided = Settings.from_env(env={}, offline=None)
    assert network.is_offline(undecided) is True and network.is_offline(undecided) is True
    assert probes == [1]
