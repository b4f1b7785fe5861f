"""What prompt tuning learned: each virtual token's nearest vocabulary tokens by cosine similarity.

    readout = readout_run(store, run_id, base_model, tokenizer, top_k=5)
    readout["virtual_tokens"]   # [{index, nearest: [{token, token_id, cosine}, ...]}, ...]
    readout["caveat"]           # show it next to the table

A soft prompt is a few vectors in the model's input embedding space, not words.
Projecting each onto its closest rows of the input embedding matrix (cosine, so
only direction counts) is the usual way to peek at it. A prompt started from text
and barely trained reads back that text exactly; a trained one drifts, and its
neighbours may or may not make sense.

The adapter is read from the run's standard PEFT folder (adapter_model.safetensors,
key "prompt_embeddings", rows = num_virtual_tokens x num_transformer_submodules,
encoder rows first); nothing is unpickled.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from studio.model.methods import registry

if TYPE_CHECKING:  # torch loads when a readout runs, so the UI's handlers can name CAVEAT cheaply
    import torch

CAVEAT = ("Nearest words are a rough projection: a soft prompt need not sit near any real word, and it can read "
          "as nonsense even when it works well (Lester et al. 2021 found meaningful neighbours; Ramati et al. "
          "2024 show such readings can mislead).")
MAX_TOP_K = 50
_ADAPTER_WEIGHTS = "adapter_model.safetensors"


def _check_top_k(top_k) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"The number of nearest tokens must be a whole number from 1 to {MAX_TOP_K}, not {top_k!r}.")
    return top_k


def nearest_tokens(prompt: torch.Tensor, embeddings: torch.Tensor, tokenizer, top_k: int = 5,
                   submodules: int = 1) -> list[dict]:
    """Top-k vocabulary tokens by cosine similarity for each row of `prompt`, most similar first.

    `embeddings` is the input embedding matrix; rows past the tokenizer's vocabulary
    (T5 pads its matrix to a multiple of 128) are left out, so every id has a name.
    """
    import torch

    top_k = _check_top_k(top_k)
    prompt = torch.as_tensor(prompt).detach().float().cpu()
    embeddings = torch.as_tensor(embeddings).detach().float().cpu()
    if prompt.ndim != 2 or embeddings.ndim != 2 or prompt.shape[1] != embeddings.shape[1]:
        raise ValueError(f"The prompt ({tuple(prompt.shape)}) does not fit the model's embeddings "
                         f"({tuple(embeddings.shape)}); was it trained on another base model?")
    vocabulary = embeddings[: min(len(tokenizer), embeddings.shape[0])]
    cosine = torch.nn.functional.normalize(prompt, dim=1) @ torch.nn.functional.normalize(vocabulary, dim=1).T
    values, ids = cosine.topk(min(top_k, vocabulary.shape[0]), dim=1)  # sorted, highest first
    per_part = prompt.shape[0] // max(submodules, 1)
    out = []
    for row in range(prompt.shape[0]):
        token_ids = ids[row].tolist()
        entry = {"index": row,
                 "nearest": [{"token": token, "token_id": token_id, "cosine": float(value)}
                             for token, token_id, value in zip(tokenizer.convert_ids_to_tokens(token_ids),
                                                               token_ids, values[row].tolist(), strict=True)]}
        if submodules > 1:  # PEFT's layout: the encoder's rows, then the decoder's
            entry["part"] = "encoder" if row < per_part else "decoder"
        out.append(entry)
    return out


def load_prompt(folder: str | Path) -> tuple[torch.Tensor, dict]:
    """The trained virtual-token vectors of a prompt-tuning adapter folder, and its adapter config."""
    from safetensors.torch import load_file

    folder = Path(folder)
    config_path, weights_path = folder / "adapter_config.json", folder / _ADAPTER_WEIGHTS
    if not config_path.is_file() or not weights_path.is_file():
        raise ValueError(f"{folder} holds no prompt-tuning adapter (adapter_config.json and {_ADAPTER_WEIGHTS}).")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("peft_type") != "PROMPT_TUNING":
        raise ValueError(f"The adapter in {folder} is {config.get('peft_type')}, not prompt tuning.")
    weights = load_file(str(weights_path))
    if "prompt_embeddings" not in weights:
        raise ValueError(f"The adapter in {folder} has no prompt embeddings.")
    return weights["prompt_embeddings"], config


def readout(prompt: torch.Tensor, config: dict, base_model, tokenizer, top_k: int = 5) -> dict:
    """The `prompt-tokens --json` object for a prompt and the base model it was trained on."""
    submodules = int(config.get("num_transformer_submodules") or 1)
    virtual = nearest_tokens(prompt, base_model.get_input_embeddings().weight, tokenizer, top_k, submodules)
    return {"num_virtual_tokens": int(config.get("num_virtual_tokens") or len(virtual)),
            "num_transformer_submodules": submodules, "top_k": top_k,
            "virtual_tokens": virtual, "caveat": CAVEAT}


def readout_run(store, run_id: str, base_model, tokenizer, top_k: int = 5) -> dict:
    """Nearest tokens of a prompt-tuning run's virtual tokens; `store` is the studio's RunStore."""
    _check_top_k(top_k)
    record = store.require_loadable(run_id)
    method = registry.find(record.method)
    if method is None or not method.soft_prompt:
        raise ValueError(f"Run {run_id} is a {record.method} run; only prompt-tuning runs have virtual tokens.")
    prompt, config = load_prompt(store.model_dir(run_id))
    return {"run_id": run_id, **readout(prompt, config, base_model, tokenizer, top_k)}
