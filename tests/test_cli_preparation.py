"""`python -m studio prepare` and `prefetch` (studio/cli/preparation.py), in this process."""
import json

import pytest

from tests.conftest import as_json


@pytest.mark.slow  # three trainings
def test_prepare_trains_each_method_once_and_keeps_them(cli):
    first = as_json(cli("prepare", "--steps", "2", "--json"))["runs"]
    assert set(first) == {"full", "lora", "prompt"}
    assert all(run["status"] == "completed" for run in first.values())
    again = as_json(cli("prepare", "--steps", "2", "--json"))["runs"]
    assert {m: r["run_id"] for m, r in again.items()} == {m: r["run_id"] for m, r in first.items()}
    assert all(run["status"] == "kept" for run in again.values())


def test_prefetch_offline_says_it_needs_the_network(cli):
    proc = cli("prefetch", ok=False)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: prefetch needs the network")


def test_prefetch_online_caches_the_configured_model_and_dataset(monkeypatch, capsys):
    """With a network, prefetch loads (and so caches) exactly what the studio will use later."""
    from studio import cli
    from studio.data import dialogsum as data
    from studio.model import base_model, network

    loaded = []
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(network, "is_offline", lambda settings: False)
    monkeypatch.setattr(base_model, "load_base", lambda path, **kw: loaded.append(("model", path)))
    monkeypatch.setattr(data, "load_data", lambda source: loaded.append(("data", source)) or data.load_bundled())
    code = cli.main(["prefetch", "--base-model", "google/flan-t5-small", "--data", "knkarthick/dialogsum",
                     "--json"])
    assert code == 0
    assert loaded == [("model", "google/flan-t5-small"), ("data", "knkarthick/dialogsum")]
    assert json.loads(capsys.readouterr().out)["base_model"] == "google/flan-t5-small"
