import time

import pytest

from studio.base_model import ModelUnavailable, resolve_base_model
from studio.config import Settings
from studio.network import network_available
from studio.standin import STANDIN_NAME, build_standin


def test_no_network_is_detected_without_waiting_for_the_connection_to_time_out(monkeypatch):
    # 10.255.255.1 is unroutable: the connection hangs rather than being refused, for the system's
    # connect timeout (over two minutes on Linux). The probe gives up after its own 2 s; the bound
    # below only tells "gave up" from "hung", with room for a busy machine.
    monkeypatch.setenv("HF_ENDPOINT", "https://10.255.255.1")
    started = time.perf_counter()
    assert network_available(timeout=2.0) is False
    assert time.perf_counter() - started < 60.0


def test_default_model_falls_back_to_the_standin(cache_dir, tmp_path):
    settings = Settings.from_env(env={}, offline=True, cache_dir=cache_dir)
    choice = resolve_base_model(settings)
    assert choice.is_standin and choice.name == STANDIN_NAME and "prefetch" in choice.notice


def test_a_named_model_is_never_replaced(cache_dir, tmp_path):
    settings = Settings.from_env(env={}, offline=True, cache_dir=cache_dir, base_model="google/flan-t5-base")
    with pytest.raises(ModelUnavailable, match="not in the local cache"):
        resolve_base_model(settings)
    env_named = Settings.from_env(env={"STUDIO_BASE_MODEL": "google/flan-t5-small"}, offline=True, cache_dir=cache_dir)
    with pytest.raises(ModelUnavailable):
        resolve_base_model(env_named)
    with pytest.raises(ModelUnavailable, match="No model folder"):
        resolve_base_model(Settings.from_env(env={}, offline=True, base_model=str(tmp_path / "missing")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="config.json"):
        resolve_base_model(Settings.from_env(env={}, offline=True, base_model=str(tmp_path / "empty")))


def test_a_local_model_folder_is_used_as_is(cache_dir):
    folder = str(cache_dir / STANDIN_NAME)
    choice = resolve_base_model(Settings.from_env(env={}, offline=True, base_model=folder))
    assert choice.path == folder and not choice.is_standin


def test_standin_is_built_once_and_reused(tmp_path):
    folder = build_standin(tmp_path / STANDIN_NAME)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert build_standin(tmp_path / STANDIN_NAME) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob("*.tmp-*"))


def test_standin_tokenizer_round_trips_dialogue_text(cache_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(cache_dir / STANDIN_NAME))
    ids = tokenizer("#Person1#: Can I pay by card?")["input_ids"]
    assert ids[-1] == tokenizer.eos_token_id == 1 and tokenizer.pad_token_id == 0
    assert tokenizer.decode(ids, skip_special_tokens=True) == "#Person1#: Can I pay by card?"
