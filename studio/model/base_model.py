"""Which base model the studio loads (a hub id, a local folder, or the stand-in), and loading it.

    choice = resolve_base_model(settings)      # raises ModelUnavailable rather than swap silently
    model, tokenizer = load_base(choice.path)

When the default FLAN-T5 is not cached and there is no network, the tiny stand-in
T5 (studio.standin) takes its place and `choice.notice` says so. A base model
somebody named explicitly is never replaced: failing to load it is an error.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.config.settings import DEFAULT_BASE_MODEL, Settings, hub_offline
from studio.model.network import is_offline
from studio.model.standin import STANDIN_NAME, build_standin

STANDIN_NOTICE = ("Offline: using a tiny stand-in T5 built on this machine, not FLAN-T5. Its summaries "
                  "show the mechanics, not real quality. To use the real model, run "
                  "`python -m studio prefetch` once while online, or set STUDIO_BASE_MODEL to a local "
                  "model folder.")


class ModelUnavailable(RuntimeError):
    """The base model asked for cannot be loaded here."""


@dataclass
class BaseModelChoice:
    path: str            # what from_pretrained gets: a hub id or a folder
    name: str            # what the UI and run.json show
    is_standin: bool = False
    notice: str = ""


def is_cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def default_base_model_cached() -> bool:
    return is_cached(DEFAULT_BASE_MODEL)


def resolve_base_model(settings: Settings) -> BaseModelChoice:
    """Which base model to load; raises ModelUnavailable instead of silently swapping."""
    name = settings.base_model
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "config.json").exists():
            raise ModelUnavailable(f"{local} is a folder but holds no config.json; it is not a model folder.")
        return BaseModelChoice(str(local), name)
    if name.startswith((".", "/", "~")):
        raise ModelUnavailable(f"No model folder at {name}.")
    if not is_offline(settings) or is_cached(name):
        return BaseModelChoice(name, name)
    if settings.base_model_explicit and name != STANDIN_NAME:
        raise ModelUnavailable(f"{name} is not in the local cache and there is no network. Run "
                               "`python -m studio prefetch` while online, or name a local model folder.")
    folder = build_standin(settings.cache_dir / STANDIN_NAME)
    return BaseModelChoice(str(folder), STANDIN_NAME, is_standin=True, notice=STANDIN_NOTICE)


def load_base(path: str, device: str = "cpu", dtype=None):
    """Model and tokenizer from a hub id (cache only when offline) or a folder; safetensors only."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    offline = hub_offline()  # the studio may have switched it on since it started
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=offline, trust_remote_code=False)
        model = AutoModelForSeq2SeqLM.from_pretrained(path, local_files_only=offline, use_safetensors=True,
                                                      trust_remote_code=False, dtype=dtype)
    except OSError as exc:
        raise ModelUnavailable(f"Could not load the model {path}: {exc}") from exc
    return model.to(device).eval(), tokenizer
