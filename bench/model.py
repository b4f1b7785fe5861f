"""The model the benchmark measures: FLAN-T5-small when cached, else its exact architecture with random weights.

Speed and memory depend on the shapes, not on the weight values, so a randomly
initialised model with FLAN-T5-small's 76,961,152 parameters (and the stand-in
tokenizer) stands in for the real one offline.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from studio.config.settings import DEFAULT_BASE_MODEL
from studio.model.base_model import is_cached
from studio.model.standin import STANDIN_NAME, build_standin, untie_lm_head

RANDOM_MODEL_FOLDER = "flan-t5-small-architecture-random-v1"


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


def bench_model(cache_dir: Path) -> tuple[str, bool]:
    """(model path, is the real FLAN-T5-small); the random model is built once into `cache_dir`."""
    if is_cached(DEFAULT_BASE_MODEL):
        return DEFAULT_BASE_MODEL, True
    folder = cache_dir / RANDOM_MODEL_FOLDER
    if not (folder / "model.safetensors").exists():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(build_standin(cache_dir / STANDIN_NAME)))
        model = build_flan_t5_small_random(seed=0)
        model.generation_config.max_new_tokens = 64
        tmp = Path(tempfile.mkdtemp(dir=cache_dir))
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, folder)
    return str(folder), False
