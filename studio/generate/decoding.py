"""Greedy decoding that drops each summary from the batch as soon as it ends.

`model.generate()` keeps every row of a batch in every decoding step until the
longest summary is done: a row that ended at token 30 still pays for steps 31 to
200 while one summary in its batch rambles on. On a CPU those steps cost
roughly in proportion to the rows in them (measured on a FLAN-T5-small-shaped
model, 2 cores, bf16: ~48 ms per step for 16 rows, ~30 ms for 8), so the
evaluation of a test set, where summary lengths vary, spends much of its time
on rows that are already finished. `greedy_decode` runs the same greedy search
and removes finished rows from the encoder states, the mask and the key/value
cache after each step.

It is used only where it gives the same tokens as `generate()`: greedy search
with no logits processor in the model's generation config (FLAN-T5's config has
none). Anything else (beams, a repetition penalty, ...) goes to `generate()`.
"""
from __future__ import annotations

import torch
from transformers import StoppingCriteria

# Generation-config fields that would add a logits processor or a constraint to
# greedy search, with the values that leave it plain.
_PLAIN_VALUES = {
    "do_sample": (False, None), "num_beams": (1, None), "repetition_penalty": (1.0, None),
    "encoder_repetition_penalty": (1.0, None), "no_repeat_ngram_size": (0, None),
    "encoder_no_repeat_ngram_size": (0, None), "min_length": (0, None), "min_new_tokens": (0, None),
    "bad_words_ids": (None,), "force_words_ids": (None,), "forced_bos_token_id": (None,),
    "forced_eos_token_id": (None,), "suppress_tokens": (None,), "begin_suppress_tokens": (None,),
    "sequence_bias": (None,), "exponential_decay_length_penalty": (None,), "renormalize_logits": (False, None),
    "diversity_penalty": (0.0, None), "guidance_scale": (None, 1.0), "watermarking_config": (None,),
    "stop_strings": (None,), "penalty_alpha": (None, 0.0), "dola_layers": (None,),
}


def is_plain_greedy(model, num_beams: int) -> bool:
    """True when `model.generate(num_beams=num_beams, do_sample=False)` is plain argmax decoding."""
    config = getattr(model, "generation_config", None)
    if num_beams != 1 or config is None or not getattr(model.config, "is_encoder_decoder", False):
        return False
    return all(getattr(config, name, None) in allowed for name, allowed in _PLAIN_VALUES.items())


def _eos_ids(model) -> set[int]:
    eos = model.generation_config.eos_token_id
    return set(eos if isinstance(eos, (list, tuple)) else [eos]) - {None}


def encode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor):
    """Encoder states and mask, as `generate()` would compute them for this (maybe PEFT) model.

    Prompt tuning puts its learned virtual tokens in front of the encoder input
    (the studio's prompt adapters touch only the encoder), exactly as
    PeftModelForSeq2SeqLM.generate() does; LoRA layers sit inside the modules and
    need nothing here.
    """
    peft_config = getattr(model, "active_peft_config", None)
    if peft_config is not None and peft_config.is_prompt_learning:
        n_virtual = peft_config.num_virtual_tokens
        embeds = model.word_embeddings(input_ids)
        prompts = model.get_prompt(batch_size=input_ids.shape[0]).to(embeds.dtype)
        embeds = torch.cat((prompts[:, :n_virtual], embeds), dim=1)
        attention_mask = torch.cat((attention_mask.new_ones(input_ids.shape[0], n_virtual), attention_mask), dim=1)
        hidden = model.get_base_model().get_encoder()(inputs_embeds=embeds, attention_mask=attention_mask)
    else:
        hidden = model.get_encoder()(input_ids=input_ids, attention_mask=attention_mask)
    return hidden.last_hidden_state, attention_mask


def greedy_decode(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_new_tokens: int,
                  between_steps=None) -> list[list[int]]:
    """Greedy summaries' token ids (without the start token, with the end token if reached), one list per row.

    `between_steps()`, if given, is called after each step (the model pool lets a waiting client in there).
    """
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache
    from transformers.modeling_outputs import BaseModelOutput

    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    eos_ids = _eos_ids(lm)
    encoder_states, encoder_mask = encode(model, input_ids, attention_mask)
    rows = input_ids.shape[0]
    tokens: list[list[int]] = [[] for _ in range(rows)]
    alive = list(range(rows))  # original row of each row still decoding
    next_input = torch.full((rows, 1), lm.config.decoder_start_token_id, dtype=torch.long, device=input_ids.device)
    cache = EncoderDecoderCache(DynamicCache(config=lm.config), DynamicCache(config=lm.config))
    for _ in range(max_new_tokens):
        logits = lm(encoder_outputs=BaseModelOutput(last_hidden_state=encoder_states), attention_mask=encoder_mask,
                    decoder_input_ids=next_input, past_key_values=cache, use_cache=True).logits
        chosen = logits[:, -1, :].argmax(dim=-1)
        keep = []
        for position, token in enumerate(chosen.tolist()):
            tokens[alive[position]].append(token)
            if token not in eos_ids:
                keep.append(position)
        if not keep:
            break
        if len(keep) < len(alive):  # some summaries ended: stop paying for their rows
            index = torch.tensor(keep, device=chosen.device)
            cache.batch_select_indices(index)
            encoder_states, encoder_mask, chosen = encoder_states[index], encoder_mask[index], chosen[index]
            alive = [alive[position] for position in keep]
        next_input = chosen[:, None]
        if between_steps is not None:
            between_steps()
    return tokens


class EveryStep(StoppingCriteria):
    """A stopping criterion that never stops: it calls `callback()` after each step of `generate()`."""

    def __init__(self, callback):
        self.callback = callback

    def __deepcopy__(self, memo):
        # PEFT's generate() deep-copies its keyword arguments; the callback must stay the same one.
        return self

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.BoolTensor:
        self.callback()
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def use_eager_attention_on_cpu(model, device: str) -> None:
    """On a CPU, run attention as plain matrix products instead of PyTorch's SDPA kernel.

    T5 adds its relative position bias to every attention score, which SDPA gets
    as a dense float mask; on a CPU that path is slower per decoding step than the
    eager implementation, with the same tokens out (figures in docs/benchmark.md).
    GPUs keep SDPA.
    """
    if device == "cpu" and getattr(model.config, "_attn_implementation", None) == "sdpa":
        model.set_attn_implementation("eager")
