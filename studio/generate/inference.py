"""The model pool: every model a user can summarize with, from one copy of the base weights.

    pool = ModelPool(base_choice, store)
    results = pool.summarize(["original", lora_run_id], dialogues, GenerationSettings(max_new_tokens=64))
    results[lora_run_id].summaries, results[lora_run_id].seconds

Layout in memory: the base model is loaded once. The runs of each adapter method
(LoRA, prompt tuning, ...: registry methods with a peft_type) are adapters in one
PeftModel per method over that same module (a PeftModel holds adapters of one type).
Methods like LoRA inject layers into the shared base: while any other model generates,
those layers are switched off, each wrapper's own layer type only (PEFT's disable_adapter()
would switch off every adapter type's layers at once), so nothing one method does leaks
into another or into "original"; and each wrapper keeps its own list of adapters
(separate_adapter_settings). Only runs of a whole-model method (full fine-tuning)
hold their own weights, and at most `max_full` of them stay loaded; one nobody has asked
for in `FULL_IDLE_SECONDS` is let go, and its memory handed back to the system (the app
once grew by two FLAN-T5 copies under six sessions and kept them idle).

A run's files are checked before anything shared changes, and a load that fails is
undone (its adapter deleted, or the first LoRA wrapper unloaded from the base):
a broken run raises ModelLoadError, naming the run and the file, every time it
is asked for, and never leaves a half-loaded adapter that would pass for it.
(Where PEFT cannot take one adapter type's layers out without the others', the shared
models are dropped instead and load again on next use.)

All generation is serialised by one lock: adapters are switched by mutating
shared modules, and two generations at once would only split the same cores.
A generation inside a turn of the studio's generation gate (studio/service/fairshare.py, which
the pool reaches through the `turn_of` callback it is given: the gate lives a layer above)
can hand the lock over between decoding steps to a client that used less, and
then set its model up again and carry on.
"""
from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import StoppingCriteriaList

from studio.config.settings import ORIGINAL, GenerationSettings
from studio.data.dialogsum import make_prompt
from studio.generate.decoding import EveryStep, greedy_decode, is_plain_greedy, use_eager_attention_on_cpu
from studio.model.base_model import BaseModelChoice, ModelUnavailable, load_base
from studio.model.methods import registry
from studio.store.records import RunRecord
from studio.store.runs import RunStore

__all__ = ["ORIGINAL", "GenerationSettings", "ModelLoadError", "ModelPool", "SummaryResult"]  # first two: config

ADAPTER_CONFIG = "adapter_config.json"         # PEFT's own file names
ADAPTER_WEIGHTS = "adapter_model.safetensors"
MAX_ADAPTER_CONFIG_BYTES = 1 << 20             # a real one is about 1 kB


class ModelLoadError(ValueError):
    """A run's saved model cannot be loaded: the message names the run, the file and what is wrong.

    A ValueError, so the studio shows the message to the person as it is (engine.USER_ERRORS);
    `run_id` says which model failed, so the others can still answer."""

    def __init__(self, run_id: str, message: str):
        super().__init__(message)
        self.run_id = run_id

    def __reduce__(self):  # survives pickling: a ZeroGPU call sends its exceptions back that way
        return type(self), (self.run_id, str(self))


def _bad_file_errors() -> tuple:
    """What reading or applying a damaged or foreign model file raises (not the studio's own bugs)."""
    from safetensors import SafetensorError

    return OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError, ModelUnavailable


def _run_named(record: RunRecord) -> str:
    name, run_id = record.name, record.run_id
    return f"Run {name!r} ({run_id})" if name and name != run_id else f"Run {run_id}"


def _load_error(record: RunRecord, problem: str) -> ModelLoadError:
    return ModelLoadError(record.run_id, f"{_run_named(record)} cannot be loaded: {problem}. "
                                            "Delete it, or train or import it again.")


def _one_line(exc: BaseException, folder: Path | None = None) -> str:
    """An exception as a short clause, without the server's paths."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if folder is not None:
        text = text.replace(str(folder), "model")
    return text[:300]


def check_safetensors(path: Path, record: RunRecord) -> None:
    """ModelLoadError unless `path` is a whole safetensors file holding some weights.

    Reads the header only: a truncated file or random bytes fail here, before any model changes."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            names = list(handle.keys())
    except FileNotFoundError:
        raise _load_error(record, f"its {path.name} is missing") from None
    except (SafetensorError, OSError) as exc:
        raise _load_error(record, f"its {path.name} is damaged ({_one_line(exc)})") from None
    if not names:
        raise _load_error(record, f"its {path.name} holds no weights")


def read_adapter_config(folder: Path, record: RunRecord, expected: str):
    """The run's PeftConfig, or ModelLoadError saying what is wrong with adapter_config.json.

    `expected`: the PEFT type the run's method saves (registry: Method.peft_type)."""
    from peft import PeftConfig

    path = folder / ADAPTER_CONFIG
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_ADAPTER_CONFIG_BYTES + 1)
        if len(raw) > MAX_ADAPTER_CONFIG_BYTES:
            raise _load_error(record, f"its {ADAPTER_CONFIG} is over {MAX_ADAPTER_CONFIG_BYTES:,} bytes")
        values = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise _load_error(record, f"its {ADAPTER_CONFIG} is missing") from None
    except OSError as exc:
        raise _load_error(record, f"its {ADAPTER_CONFIG} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise _load_error(record, f"its {ADAPTER_CONFIG} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _load_error(record, f"its {ADAPTER_CONFIG} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                                  f"column {exc.colno})") from None
    except RecursionError:
        raise _load_error(record, f"its {ADAPTER_CONFIG} nests too deeply to read") from None
    if not isinstance(values, dict) or "peft_type" not in values:
        raise _load_error(record, f"its {ADAPTER_CONFIG} is not a PEFT adapter's settings (no peft_type)")
    if values["peft_type"] != expected:
        raise _load_error(record, f"its {ADAPTER_CONFIG} is for a {repr(values['peft_type'])[:60]} adapter, "
                                  f"not {expected}")
    values.pop("runtime_config", None)  # as PEFT's own reader does: never saved, only set at run time
    try:
        return PeftConfig.from_peft_type(**values)
    except (TypeError, ValueError, KeyError) as exc:
        raise _load_error(record, f"its {ADAPTER_CONFIG} has settings PEFT refuses ({_one_line(exc)})") from None


def _peft_wrapper_class(config):
    """The PeftModel class PeftModel.from_pretrained builds for this config (seq2seq for T5)."""
    from peft import MODEL_TYPE_TO_PEFT_MODEL_MAPPING, PeftModel

    return MODEL_TYPE_TO_PEFT_MODEL_MAPPING.get(config.task_type, PeftModel)


def holds_adapter(wrapper, run_id: str) -> bool:
    """True when any trace of adapter `run_id` is in `wrapper`: its settings or a module named after it."""
    if wrapper is None:
        return False
    if run_id in wrapper.peft_config:
        return True
    return any(name.endswith(f".{run_id}") or f".{run_id}." in name for name, _ in wrapper.named_modules())


def injects_layers(wrapper) -> bool:
    """Whether a PeftModel's adapters are layers inside the base (LoRA), not a prompt before the input."""
    return not wrapper.active_peft_config.is_prompt_learning


@contextlib.contextmanager
def separate_adapter_settings(base):
    """While a PeftModel is made over `base`: keep it from adopting another method's adapter settings.

    A PEFT tuner leaves its settings on the model it wraps too (model.peft_config), and a second
    tuner made over that model finds them there and adds its own adapters to them: two methods'
    wrappers would share one dict, each listing (and on forget() deleting) the other's adapters.
    Hidden while the new wrapper is made, it starts a dict of its own; if it fails, they go back."""
    earlier = base.__dict__.pop("peft_config", None)
    made = False
    try:
        yield
        made = True
    finally:
        if not made and earlier is not None:
            base.peft_config = earlier


@contextlib.contextmanager
def layers_switched_off(wrapper):
    """Switch off the layers of this wrapper's adapter type only, for the duration.

    PEFT's disable_adapter() switches off every tuner layer in the model, whatever its type: with
    two layer-injecting methods on the one shared base, generating with one would silence the other."""
    layer_type = wrapper.base_model.tuner_layer_cls
    layers = [m for m in wrapper.base_model.model.modules() if isinstance(m, layer_type)]
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield
    finally:
        for layer in layers:
            layer.enable_adapters(True)


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
    shared: bool   # runs on the shared base (original or an adapter), not a whole model of its own


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

    def try_enter(self) -> bool:
        """Take the lock if no one else holds it; False at once if someone does."""
        if not self._lock.acquire(blocking=False):
            return False
        self._local.depth = self.depth() + 1
        return True

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


FULL_IDLE_SECONDS = 600.0   # a fully tuned model reloads in seconds; ten idle minutes of ~300 MB each is waste


def return_freed_memory() -> None:
    """Collect, then ask glibc to give freed heap pages back to the system (no-op elsewhere)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class ModelPool:
    def __init__(self, base: BaseModelChoice, store: RunStore, max_full: int = 2, device: str | None = None,
                 dtype: torch.dtype | None = None, full_idle_seconds: float = FULL_IDLE_SECONDS,
                 turn_of: Callable[[], object | None] = lambda: None):
        """`turn_of`: the generation-gate turn the calling code is inside (None outside one), an object
        with should_step_aside() and step_aside(); the studio passes fairshare.current_turn."""
        self.base_choice = base
        self.turn_of = turn_of
        self.dtype = dtype  # None = as saved (fp32); bf16 halves memory and is faster on bf16 hardware
        self.store = store
        self.max_full = max_full
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._lock = _PoolLock()
        self._base = None
        self.tokenizer = None
        self._wrappers: dict[str, object] = {}   # method name -> the PeftModel holding its loaded adapters
        self._full: OrderedDict[str, tuple] = OrderedDict()  # run_id -> (model, tokenizer, method), LRU
        self._full_used: dict[str, float] = {}                 # run_id -> when it was last set up
        self.full_idle_seconds = full_idle_seconds
        self._sweeper: threading.Thread | None = None
        self._to_forget: set[str] = set()     # deleted runs still in memory (forget() found the pool busy)
        self._to_forget_lock = threading.Lock()

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
        """What is in memory now (for the UI and the memory benchmark): the base, and each method's runs."""
        out = {"base": self._base is not None}
        for method in registry.METHODS:
            if method.whole_model:
                out[method.name] = [run_id for run_id, entry in self._full.items() if entry[2] == method.name]
            else:
                wrapper = self._wrappers.get(method.name)
                out[method.name] = sorted(wrapper.peft_config) if wrapper is not None else []
        return out

    def _layer_wrappers(self) -> list:
        """The loaded PeftModels whose adapters are layers inside the shared base."""
        return [w for w in self._wrappers.values() if injects_layers(w)]

    def _check_base(self, record: RunRecord) -> None:
        if not record.trained_on(self.base_choice.path, self.base_choice.name):
            raise ValueError(f"Run {record.run_id} was trained on {record.base_model}, but the "
                             f"studio now runs {self.base_choice.name}; its adapter does not fit.")

    def _adapter_wrapper(self, record: RunRecord, method):
        """The PeftModel holding this run's adapter (of `method`, a registry Method), loading it on first use."""
        self._check_base(record)
        wrapper = self._wrappers.get(method.name)
        if wrapper is not None and record.run_id in wrapper.peft_config:
            return wrapper  # only a load that succeeded leaves an adapter registered
        # Check the files before anything shared changes. The run store calls a folder loadable
        # only when it holds safetensors and no pickle files, so nothing here can unpickle.
        folder = self.store.model_dir(record.run_id)
        config = read_adapter_config(folder, record, method.peft_type)
        check_safetensors(folder / ADAPTER_WEIGHTS, record)
        return self._attach_adapter(record, folder, config, method)

    def _attach_adapter(self, record: RunRecord, folder: Path, config, method):
        """Load the adapter into its method's wrapper (made here for the method's first run); undone if it fails.

        The same steps as PeftModel.from_pretrained, kept apart so that a failed first load
        still has the wrapper in hand to take its layers back out of the shared base."""
        run_id = record.run_id
        wrapper = self._wrappers.get(method.name)
        created = wrapper is None
        try:
            if created:
                config.inference_mode = True
                with separate_adapter_settings(self.base()):
                    wrapper = _peft_wrapper_class(config)(self.base(), config, adapter_name=run_id)
            loaded = wrapper.load_adapter(str(folder), adapter_name=run_id, is_trainable=False)
            if loaded.missing_keys:  # PEFT lists this adapter's own weights the file lacks
                raise _load_error(record, f"its {ADAPTER_WEIGHTS} lacks {len(loaded.missing_keys)} of the "
                                          "adapter's weights")
        except BaseException as exc:
            self._undo_attach(wrapper, run_id, not config.is_prompt_learning, created)
            if isinstance(exc, ModelLoadError) or not isinstance(exc, _bad_file_errors()):
                raise
            raise _load_error(record, f"its adapter does not load ({_one_line(exc, folder)})") from exc
        if created:
            wrapper.eval()
            self._wrappers[method.name] = wrapper
        return wrapper

    def _undo_attach(self, wrapper, run_id: str, injects: bool, created: bool) -> None:
        """Take a failed adapter back out, so it cannot pass for a trained run later.

        An adapter that `injects` layers into the shared base (LoRA) is undone, for its method's
        first run, by unloading its wrapper (PEFT puts the original layers back), a later one by
        deleting it. PEFT's unload() takes out every adapter type's layers, so with another
        method's layers in the base too, and whenever anything is still left, the shared models
        are dropped instead and reload on next use."""
        try:
            if created and injects and self._layer_wrappers():
                left = True
            else:
                if created and wrapper is not None and injects:
                    wrapper.unload()
                elif not created and run_id in wrapper.peft_config:
                    wrapper.delete_adapter(run_id)
                left = (created and wrapper is None and injects) or \
                    (not created and holds_adapter(wrapper, run_id)) or self._base_has_stray_layers()
        except Exception:  # noqa: BLE001 - whatever broke the undo, starting afresh from the files is safe
            left = True
        if left:
            self._drop_shared_models()

    def _base_has_stray_layers(self) -> bool:
        """Adapter layers in the base of a type no loaded wrapper owns."""
        from peft.tuners.tuners_utils import BaseTunerLayer

        if self._base is None:
            return False
        owned = tuple(w.base_model.tuner_layer_cls for w in self._layer_wrappers())
        return any(isinstance(module, BaseTunerLayer) and not isinstance(module, owned)
                   for module in self._base.modules())

    def _drop_shared_models(self) -> None:
        self._base = None
        self._wrappers = {}

    def _full_model(self, record: RunRecord):
        """A whole-model run's own (model, tokenizer), loaded on first use; the least recently used go."""
        run_id = record.run_id
        self._full_used[run_id] = time.monotonic()
        if run_id in self._full:
            self._full.move_to_end(run_id)
            return self._full[run_id][:2]
        folder = self.store.model_dir(run_id)
        for weights in sorted(folder.glob("*.safetensors")):  # a damaged file fails here, named
            check_safetensors(weights, record)
        try:
            model, tokenizer = load_base(str(folder), device=self.device, dtype=self.dtype)
        except _bad_file_errors() as exc:
            raise _load_error(record, f"its saved model does not load ({_one_line(exc, folder)})") from exc
        use_eager_attention_on_cpu(model, self.device)
        self._full[run_id] = (model, tokenizer, record.method)
        while len(self._full) > self.max_full:
            gone, _ = self._full.popitem(last=False)  # least recently used goes; its memory is freed
            self._full_used.pop(gone, None)
        self._start_sweeper()
        return model, tokenizer

    def release_idle(self, now: float | None = None) -> list[str]:
        """Let go of fully tuned models unused for `full_idle_seconds`; returns their run ids."""
        now = time.monotonic() if now is None else now
        with self._lock:   # never while a generation uses one: it holds the lock
            idle = [run_id for run_id in self._full if now - self._full_used.get(run_id, now) >= self.full_idle_seconds]
            for run_id in idle:
                self._full.pop(run_id, None)
                self._full_used.pop(run_id, None)
        if idle:
            return_freed_memory()
        return idle

    def _start_sweeper(self) -> None:
        """One daemon thread while fully tuned models are loaded; it ends when none is left."""
        if self._sweeper is not None and self._sweeper.is_alive():
            return

        def sweep():
            while True:
                time.sleep(max(1.0, self.full_idle_seconds / 4))
                self.release_idle()
                with self._lock:
                    if not self._full:
                        self._sweeper = None
                        return

        self._sweeper = threading.Thread(target=sweep, name="model-pool-idle-sweeper", daemon=True)
        self._sweeper.start()

    def forget(self, run_id: str) -> None:
        """Drop a (deleted) run from memory: now if no generation holds the pool, else as soon as it lets go.

        A delete must not wait behind someone's evaluation (it once hung for the whole 4-minute run);
        its folder is gone already, so nothing can load the run in the meantime. Adapters are only
        taken out under the lock: a generation may be using the shared modules they sit in."""
        with self._to_forget_lock:
            self._to_forget.add(run_id)
        if self._lock.try_enter():
            try:
                self._forget_pending()
            finally:
                self._lock.__exit__()

    def _forget_pending(self) -> None:
        """Drop the runs forget() was asked to; call with the pool's lock held."""
        with self._to_forget_lock:
            gone, self._to_forget = self._to_forget, set()
        for run_id in gone:
            self._full.pop(run_id, None)
            self._full_used.pop(run_id, None)
            for wrapper in self._wrappers.values():
                if run_id in wrapper.peft_config and len(wrapper.peft_config) > 1:
                    if wrapper.active_adapter == run_id:
                        wrapper.set_adapter(next(a for a in wrapper.peft_config if a != run_id))
                    wrapper.delete_adapter(run_id)

    def _set_up(self, model_id: str, undo: contextlib.ExitStack):
        """(model, tokenizer) for `model_id`, with the shared modules switched for it; what
        switches them back goes on `undo`."""
        self._forget_pending()
        self.base()
        if model_id == ORIGINAL:
            for other in self._layer_wrappers():
                undo.enter_context(layers_switched_off(other))
            return self._base, self.tokenizer
        record = self.store.require_loadable(model_id)
        method = registry.find(record.method)
        if method is None:
            raise ValueError(f"Run {model_id} has an unknown method {str(record.method)[:40]!r}.")
        if method.whole_model:
            return self._full_model(record)
        wrapper = self._adapter_wrapper(record, method)
        wrapper.set_adapter(model_id)
        # Read the wrappers only now: loading this run may have made its method's wrapper.
        for other in self._layer_wrappers():
            if other is not wrapper:
                undo.enter_context(layers_switched_off(other))
        return wrapper, self.tokenizer

    @contextlib.contextmanager
    def _generator(self, model_id: str):
        """Yield a _Setup to generate `model_id`'s summaries with; the shared modules are restored after."""
        with contextlib.ExitStack() as undo:
            model, tokenizer = self._set_up(model_id, undo)
            shared = any(model is m for m in (self._base, *self._wrappers.values()))  # not a whole model of its own
            yield _Setup(model_id, model, tokenizer, undo, shared)

    def _step_aside_if_asked(self, setup: _Setup) -> None:
        """Between decoding steps: if the generation gate says a client that used less is waiting,
        hand the models over until it is this request's turn again, then carry on where it stopped.

        Only inside a gate turn (the UI's summaries and evaluations) and with the lock held once
        (never in the middle of loading a model). The shared modules go back to neutral for the
        others and are set up again on return; a fully tuned model has nothing shared to redo.
        """
        turn = self.turn_of()
        if turn is None or self._lock.depth() != 1 or not turn.should_step_aside():
            return
        setup.undo.close()
        with self._lock.handed_over():
            turn.step_aside()
        if not setup.shared:
            return
        model, _ = self._set_up(setup.model_id, setup.undo)
        if model is not setup.model:
            raise ValueError("The studio's models were replaced while this summary waited its turn; ask again.")

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
            self._forget_pending()   # runs deleted while this generation held the pool
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
        # Same tokens as generate(), but finished summaries leave the batch (studio/generate/decoding.py).
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
