"""The model pool: every model a user can summarize with, from one copy of the base weights.

    pool = ModelPool(base_choice, store)
    results = pool.summarize(["original", lora_run_id], dialogues, GenerationSettings(max_new_tokens=64))
    results[lora_run_id].summaries, results[lora_run_id].seconds

Layout in memory: the base model is loaded once. LoRA runs are adapters in one
PeftModel over it; prompt-tuning runs are adapters in a second PeftModel over the
same module (a PeftModel holds adapters of one type). LoRA injects layers into
the shared base, so "original" and prompt-tuned generation run inside the LoRA
wrapper's disable_adapter(): nothing LoRA does leaks into them. Only fully
tuned runs hold their own weights, and at most `max_full` of them stay loaded.

All generation is serialised by one lock: adapters are switched by mutating
shared modules, and two generations at once would only split the same cores.
A generation inside a turn of the studio's generation gate (studio/fairshare.py)
can hand the lock over between decoding steps to a client that used less, and
then set its model up again and carry on.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import torch
from transformers import StoppingCriteriaList

from .base_model import BaseModelChoice, load_base
from .config import ORIGINAL, GenerationSettings
from .data import make_prompt
from .decoding import EveryStep, greedy_decode, is_plain_greedy, use_eager_attention_on_cpu
from .fairshare import current_turn
from .runs import RunStore

__all__ = ["ORIGINAL", "GenerationSettings", "ModelPool", "SummaryResult"]  # the first two live in config


@dataclass
class SummaryResult:
    model: str
    summaries: list[str]
    seconds: float


@dataclass
class _Setup:
    """A model set up to generate with, and what puts the shared modules back (an ExitStack)."""
    model_id: str
    model: object
    tokenizer: object
    undo: contextlib.ExitStack
    shared: bool   # runs on the shared base (original, LoRA, prompt), not a fully tuned copy of its own


class _PoolLock:
    """The pool's re-entrant lock, counting how deep the current thread holds it, so a generation
    can hand it to another request while it steps aside (only when held once, never mid-load)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._local = threading.local()

    def depth(self) -> int:
        return getattr(self._local, "depth", 0)

    def __enter__(self):
        self._lock.acquire()
        self._local.depth = self.depth() + 1
        return self

    def __exit__(self, *exc):
        self._local.depth -= 1
        self._lock.release()

    @contextlib.contextmanager
    def handed_over(self):
        if self.depth() != 1:
            raise RuntimeError("The model pool's lock can only be handed over when held once.")
        self.__exit__()
        try:
            yield
        finally:
            self.__enter__()


class ModelPool:
    def __init__(self, base: BaseModelChoice, store: RunStore, max_full: int = 2, device: str | None = None,
                 dtype: torch.dtype | None = None):
        self.base_choice = base
        self.dtype = dtype  # None = as saved (fp32); bf16 halves memory and is faster on bf16 hardware
        self.store = store
        self.max_full = max_full
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._lock = _PoolLock()
        self._base = None
        self.tokenizer = None
        self._lora = None          # PeftModel holding every loaded LoRA adapter
        self._prompt = None        # PeftModel holding every loaded prompt-tuning adapter
        self._full: OrderedDict[str, tuple] = OrderedDict()  # run_id -> (model, tokenizer), LRU

    # ------------------------------------------------------------------ loading
    def base(self):
        with self._lock:
            if self._base is None:
                self._base, self.tokenizer = load_base(self.base_choice.path, device=self.device, dtype=self.dtype)
                use_eager_attention_on_cpu(self._base, self.device)
                for param in self._base.parameters():
                    param.requires_grad_(False)
            return self._base

    def loaded(self) -> dict:
        """What is in memory now (for the UI and the memory benchmark)."""
        return {"base": self._base is not None,
                "lora": sorted(self._lora.peft_config) if self._lora is not None else [],
                "prompt": sorted(self._prompt.peft_config) if self._prompt is not None else [],
                "full": list(self._full)}

    def _check_base(self, record: dict) -> None:
        if record.get("base_model_path") != self.base_choice.path and record.get("base_model") != self.base_choice.name:
            raise ValueError(f"Run {record['run_id']} was trained on {record.get('base_model')}, but the "
                             f"studio now runs {self.base_choice.name}; its adapter does not fit.")

    def _adapter_wrapper(self, record: dict):
        """The PeftModel holding this run's adapter, loading it on first use."""
        from peft import PeftModel

        run_id, method = record["run_id"], record["method"]
        self._check_base(record)
        folder = str(self.store.model_dir(run_id))
        attr = "_lora" if method == "lora" else "_prompt"
        wrapper = getattr(self, attr)
        if wrapper is None:
            # PEFT prefers adapter_model.safetensors; the run store only calls a folder loadable
            # when it holds safetensors and no pickle files, so nothing here can unpickle.
            wrapper = PeftModel.from_pretrained(self.base(), folder, adapter_name=run_id, is_trainable=False)
            wrapper.eval()
            setattr(self, attr, wrapper)
        elif run_id not in wrapper.peft_config:
            wrapper.load_adapter(folder, adapter_name=run_id, is_trainable=False)
        return wrapper

    def _full_model(self, record: dict):
        run_id = record["run_id"]
        if run_id in self._full:
            self._full.move_to_end(run_id)
            return self._full[run_id]
        model, tokenizer = load_base(str(self.store.model_dir(run_id)), device=self.device, dtype=self.dtype)
        use_eager_attention_on_cpu(model, self.device)
        self._full[run_id] = (model, tokenizer)
        while len(self._full) > self.max_full:
            self._full.popitem(last=False)  # least recently used goes; its memory is freed
        return model, tokenizer

    def forget(self, run_id: str) -> None:
        """Drop a (deleted) run from memory."""
        with self._lock:
            self._full.pop(run_id, None)
            for wrapper in (self._lora, self._prompt):
                if wrapper is not None and run_id in wrapper.peft_config and len(wrapper.peft_config) > 1:
                    if wrapper.active_adapter == run_id:
                        wrapper.set_adapter(next(a for a in wrapper.peft_config if a != run_id))
                    wrapper.delete_adapter(run_id)

    def _set_up(self, model_id: str, undo: contextlib.ExitStack):
        """(model, tokenizer) for `model_id`, with the shared modules switched for it; what
        switches them back goes on `undo`."""
        self.base()
        if model_id == ORIGINAL:
            if self._lora is not None:
                undo.enter_context(self._lora.disable_adapter())
            return self._base, self.tokenizer
        record = self.store.require_loadable(model_id)
        method = record["method"]
        if method == "full":
            return self._full_model(record)
        if method not in ("lora", "prompt"):
            raise ValueError(f"Run {model_id} has an unknown method {method!r}.")
        wrapper = self._adapter_wrapper(record)
        wrapper.set_adapter(model_id)
        # Read self._lora only now: loading the first prompt adapter may come after the LoRA wrapper exists.
        if method == "prompt" and self._lora is not None:
            undo.enter_context(self._lora.disable_adapter())
        return wrapper, self.tokenizer

    @contextlib.contextmanager
    def _generator(self, model_id: str):
        """Yield a _Setup to generate `model_id`'s summaries with; the shared modules are restored after."""
        with contextlib.ExitStack() as undo:
            model, tokenizer = self._set_up(model_id, undo)
            shared = any(model is m for m in (self._base, self._lora, self._prompt))  # not a fully tuned copy
            yield _Setup(model_id, model, tokenizer, undo, shared)

    def _step_aside_if_asked(self, setup: _Setup) -> None:
        """Between decoding steps: if the generation gate says a client that used less is waiting,
        hand the models over until it is this request's turn again, then carry on where it stopped.

        Only inside a gate turn (the UI's summaries and evaluations) and with the lock held once
        (never in the middle of loading a model). The shared modules go back to neutral for the
        others and are set up again on return; a fully tuned model has nothing shared to redo.
        """
        turn = current_turn()
        if turn is None or self._lock.depth() != 1 or not turn.should_step_aside():
            return
        setup.undo.close()
        with self._lock.handed_over():
            turn.step_aside()
        if not setup.shared:
            return
        model, _ = self._set_up(setup.model_id, setup.undo)
        if model is not setup.model:
            raise RuntimeError("The studio's models were replaced while this summary waited its turn; ask again.")

    # ------------------------------------------------------------------ generating
    def summarize(self, model_ids: list[str], dialogues: list[str], settings: GenerationSettings | None = None,
                  progress=None, template: bool = True) -> dict[str, SummaryResult]:
        """Summaries of every dialogue by every model in `model_ids`, in input order.

        `progress(done, total)` is called after each batch, if given. With template=False the
        texts go to the models as they are, not wrapped in the summarization prompt (the
        forgetting probe's instructions).
        """
        settings = (settings or GenerationSettings()).validate()
        if not dialogues:
            return {model_id: SummaryResult(model_id, [], 0.0) for model_id in model_ids}
        prompts = [make_prompt(d) for d in dialogues] if template else list(dialogues)
        total = len(model_ids) * len(prompts)
        done = 0
        results = {}
        with self._lock:
            for model_id in model_ids:
                started = time.perf_counter()
                with self._generator(model_id) as setup:
                    outputs = self._generate_sorted(setup, prompts, settings,
                                                    lambda n, before=done: progress and progress(before + n, total))
                results[model_id] = SummaryResult(model_id, outputs, time.perf_counter() - started)
                done += len(prompts)
        return results

    def _generate_sorted(self, setup: _Setup, prompts, settings, on_batch):
        model, tokenizer = setup.model, setup.tokenizer
        between_steps = functools.partial(self._step_aside_if_asked, setup)
        # Longest first, so batches hold similar lengths (little padding) and any
        # memory trouble shows on the first batch rather than the last.
        lengths = [len(ids) for ids in tokenizer(prompts, truncation=True,
                                                 max_length=settings.max_source_tokens)["input_ids"]]
        order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
        outputs: list[str] = [""] * len(prompts)
        # Same tokens as generate(), but finished summaries leave the batch (studio/decoding.py).
        shrinking = is_plain_greedy(model, settings.num_beams)
        with torch.inference_mode():
            for start in range(0, len(order), settings.batch_size):
                batch_idx = order[start:start + settings.batch_size]
                enc = tokenizer([prompts[i] for i in batch_idx], return_tensors="pt", padding=True,
                                truncation=True, max_length=settings.max_source_tokens).to(self.device)
                if shrinking:
                    generated = greedy_decode(model, enc["input_ids"], enc["attention_mask"], settings.max_new_tokens,
                                              between_steps=between_steps)
                else:
                    generated = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                               max_new_tokens=settings.max_new_tokens,
                                               num_beams=settings.num_beams, do_sample=False,
                                               stopping_criteria=StoppingCriteriaList([EveryStep(between_steps)]))
                texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
                for i, text in zip(batch_idx, texts):
                    outputs[i] = text.strip()
                on_batch(start + len(batch_idx))
        return outputs
