"""The tiny T5 built on this machine, with a tokenizer trained on the bundled dialogues, for offline use.

    folder = build_standin(cache_dir / STANDIN_NAME)   # built once, then reused

Same architecture family as FLAN-T5 (~1M parameters instead of 77M), so every
feature works without the real model; its summaries show the mechanics, not
real quality.
"""
from __future__ import annotations

import os
from pathlib import Path

STANDIN_NAME = "tiny-t5-standin-v1"


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
                                      unk_token="<unk>", max_piece_length=12, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # Like T5's tokenizer: every encoded text ends with </s>.
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>", model_max_length=512)


def _bundled_texts() -> list[str]:
    """Everything the stand-in's tokenizer should know: the prompt, every dialogue and summary."""
    from studio.data.dialogsum import PROMPT_TEMPLATE, load_bundled

    texts = [PROMPT_TEMPLATE]
    for rows in load_bundled().splits.values():
        for ex in rows:
            texts.append(ex.dialogue)
            texts.extend(ex.references)
    return texts


def build_standin(folder: Path, seed: int = 0) -> Path:
    """Build (once) and save the tiny stand-in model; returns its folder."""
    folder = Path(folder)
    if (folder / "config.json").exists() and (folder / "model.safetensors").exists():
        return folder
    import torch
    from transformers import T5ForConditionalGeneration

    tokenizer = train_tokenizer(_bundled_texts())
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
