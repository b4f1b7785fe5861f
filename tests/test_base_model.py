"""studio/model/base_model.py: which base model the studio loads, and the clear refusal when it cannot."""
import pytest

from studio.config.settings import Settings
from studio.model.base_model import ModelUnavailable, resolve_base_model
from studio.model.standin import STANDIN_NAME


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
