"""Working without a network: fast detection, and a tiny T5 built on this machine.

    if not network_available(): enter_offline_mode()
    choice = resolve_base_model(settings)      # hub id, local folder, or the tiny stand-in
    model, tokenizer = load_base(choice.path)

A hub call that cannot connect retries for close to a minute; one short HTTPS
probe answers in about two seconds instead. When the default FLAN-T5 is not
cached and there is no network, a tiny T5 (same architecture family, ~1M
parameters) with a tokenizer trained on the bundled dialogues stands in, so every
feature works; it is saved after the first build. A base model somebody named
explicitly is never replaced: failing to load it is an error.
"""
from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .config import DEFAULT_BASE_MODEL, Settings

STANDIN_NAME = "tiny-t5-standin-v1"
STANDIN_NOTICE = ("Offline: using a tiny stand-in T5 built on this machine, not FLAN-T5. Its summaries "
                  "show the mechanics, not real quality. To use the real model, run "
                  "`python -m studio prefetch` once while online, or set STUDIO_BASE_MODEL to a local "
                  "model folder.")


class ModelUnavailable(RuntimeError):
    """The base model asked for cannot be loaded here."""


def network_available(timeout: float = 2.0) -> bool:
    """True when the hub answers one HTTPS request within `timeout` seconds.

    A real request with certificate checks, not a bare TCP connect: some closed
    networks accept any connection through an intercepting proxy.
    """
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    result = {"ok": False}

    def probe():
        try:
            urllib.request.urlopen(urllib.request.Request(endpoint + "/api/health", method="HEAD"),
                                   timeout=timeout).close()
            result["ok"] = True
        except urllib.error.HTTPError:
            result["ok"] = True  # any HTTP answer from the hub means it is reachable
        except (OSError, ValueError):
            pass

    # DNS look-ups ignore the socket timeout, so the probe runs in a thread we stop waiting for.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return result["ok"]


def enter_offline_mode() -> None:
    """Make every Hugging Face library use its local cache only, from now on."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import huggingface_hub.constants as hub_constants

    hub_constants.HF_HUB_OFFLINE = True  # read at import time, so set the live value too
    try:
        import datasets.config

        datasets.config.HF_HUB_OFFLINE = True
    except ImportError:
        pass


def is_offline(settings: Settings) -> bool:
    """Decide once: the operator's word if given, else a quick probe."""
    if settings.offline is None:
        settings.offline = not network_available()
    if settings.offline:
        enter_offline_mode()
    return settings.offline


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


# --------------------------------------------------------------------------- building models here

def flan_t5_small_config(vocab_size: int = 32128):
    """FLAN-T5-small's architecture (76,961,152 parameters at its vocabulary size)."""
    from transformers import T5Config

    return T5Config(vocab_size=vocab_size, d_model=512, d_kv=64, d_ff=1024, num_layers=8,
                    num_decoder_layers=8, num_heads=6, relative_attention_num_buckets=32,
                    relative_attention_max_distance=128, dropout_rate=0.1,
                    feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)


def build_flan_t5_small_random(seed: int = 0):
    """A randomly initialised model with FLAN-T5-small's architecture and parameter count.

    transformers 5 ties T5's lm_head to the input embeddings when building from a
    config; FLAN-T5 checkpoints keep them separate, so untie to match the real model.
    """
    import torch
    from transformers import T5ForConditionalGeneration

    torch.manual_seed(seed)
    return untie_lm_head(T5ForConditionalGeneration(flan_t5_small_config()))


def untie_lm_head(model):
    """Give the model its own output projection, as FLAN-T5 has.

    transformers 5 ties T5's lm_head to the input embeddings when building from a
    config, and with unscaled decoder outputs (FLAN-T5's setting) that starts the
    loss near 80. A separate head drawn with std d_model**-0.5 starts it near
    log(vocabulary), like a real fresh model.
    """
    import torch

    d_model = model.config.d_model
    weight = torch.randn_like(model.shared.weight) * d_model ** -0.5
    model.lm_head.weight = torch.nn.Parameter(weight)
    return model


def tiny_t5_config(vocab_size: int):
    """Small enough to train in seconds on a CPU, big enough to learn the sample's style."""
    from transformers import T5Config

    return T5Config(vocab_size=vocab_size, d_model=128, d_kv=32, d_ff=256, num_layers=2,
                    num_decoder_layers=2, num_heads=4, dropout_rate=0.1, feed_forward_proj="gated-gelu",
                    tie_word_embeddings=False, pad_token_id=0, eos_token_id=1,
                    decoder_start_token_id=0)


def train_tokenizer(texts: list[str], vocab_size: int = 2000):
    """A T5-style Unigram tokenizer (pad=0, </s>=1, <unk>=2) trained on `texts`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", max_piece_length=12)
    tok.train_from_iterator(texts, trainer=trainer)
    # Like T5's tokenizer: every encoded text ends with </s>.
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=512)


def build_standin(folder: Path, seed: int = 0) -> Path:
    """Build (once) and save the tiny stand-in model; returns its folder."""
    folder = Path(folder)
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
        return folder
    import torch
    from transformers import T5ForConditionalGeneration

    from .data import PROMPT_TEMPLATE, load_bundled

    data = load_bundled()
    texts = [PROMPT_TEMPLATE]
    for rows in data.splits.values():
        for ex in rows:
            texts.append(ex.dialogue)
            texts.extend(ex.references)
    tokenizer = train_tokenizer(texts)
    torch.manual_seed(seed)
    model = untie_lm_head(T5ForConditionalGeneration(tiny_t5_config(len(tokenizer))))
    model.generation_config.max_new_tokens = 64
    # Build in a temporary folder, then rename: a crash never leaves half a model behind.
    tmp = folder.with_name(folder.name + f".tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, folder)
    except OSError:  # another process finished first; use its copy
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_base(path: str, device: str = "cpu", dtype=None):
    """Model and tokenizer from a hub id (cache only when offline) or a folder; safetensors only."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=offline, trust_remote_code=False)
        model = AutoModelForSeq2SeqLM.from_pretrained(path, local_files_only=offline, use_safetensors=True,
                                                      trust_remote_code=False, dtype=dtype)
    except OSError as exc:
        raise ModelUnavailable(f"Could not load the model {path}: {exc}") from exc
    return model.to(device).eval(), tokenizer


def default_base_model_cached() -> bool:
    return is_cached(DEFAULT_BASE_MODEL)
