"""GPU work the ZeroGPU way: inside a `@spaces.GPU` function, for a bounded time, saved before it returns.

    request = TrainRequest("lora", TrainConfig(steps=60), runs_dir="runs", base=studio.base, data=studio.data)
    check_training_gpu_seconds(request)            # the seconds to ask for; GpuTimeError over the limit
    for point in train_on_gpu(request): ...        # {"type": "step", "step": 3, "loss": 2.1, ...}, then
                                                   # {"type": "done", "record": {...run.json...}}
    summaries = summarize_on_gpu(GenerateRequest(model_ids, dialogues, runs_dir="runs", base=studio.base))
    result = evaluate_on_gpu(EvaluateRequest(model_ids, runs_dir="runs", base=studio.base, data=studio.data))

On a ZeroGPU Space (SPACES_ZERO_GPU set, `spaces` installed) each of these runs
in a process forked for the call, holding a GPU for at most the duration the
decorator asked for; the duration is computed from the request (steps, or
dialogues x tokens) plus the cost of loading and saving. Anywhere else the
decorator is a no-op and the very same code runs in-process, on CUDA if present
or the CPU: that is how the tests exercise this path.

Why requests are plain dataclasses: ZeroGPU pickles a call's arguments and
results across the process boundary, so no lock, pool or Studio object may
cross it. Why training saves before the generator ends: the forked process
dies with the GPU lease, and anything not on disk by then is lost. A watchdog
stops the Trainer (the run is saved as "stopped") when the lease is nearly up.
"""
from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from studio.config.declare import spec
from studio.config.settings import Settings, TrainConfig, on_zerogpu

# One call's GPU time when a request names none: the operator's STUDIO_ZEROGPU_MAX_SECONDS default
# (the Studio passes the setting itself in every request it builds).
DEFAULT_MAX_SECONDS = spec(Settings, "zerogpu_max_seconds").default


class GpuTimeError(ValueError):
    """A request that cannot finish within the GPU time one call may hold."""


def gpu(duration):
    """`spaces.GPU(duration=duration)` on ZeroGPU; elsewhere, the function unchanged.

    `duration` is called with the same arguments as the function (spaces' dynamic duration).
    `spaces` is imported only on ZeroGPU, where it must patch torch before CUDA starts.
    """
    def decorate(function):
        if not on_zerogpu():
            return function
        try:
            import spaces
        except ImportError:
            return function
        return spaces.GPU(duration=duration)(function)
    return decorate


# --------------------------------------------------------------------------- how long things take

@dataclass
class CostModel:
    """Seconds per unit of GPU work, for FLAN-T5-small; bigger bases scale by their parameter count.

    Deliberately on the slow side: a call that runs past its duration is killed with its work.
    """
    load_seconds: float = 15.0        # CUDA context, weights to the GPU, tokenizing the subset
    save_seconds: float = 5.0         # safetensors to disk, run.json
    step_seconds_per_row: float = 0.02  # one optimizer step, per row of the batch (FLAN-T5-small, bf16)
    token_seconds: float = 0.015      # one decoding step for one batch of dialogues
    rouge_seconds_per_dialogue: float = 0.01
    scale: float = 1.0                # model size relative to FLAN-T5-small

    @classmethod
    def for_base(cls, total_params: int | None) -> CostModel:
        from studio.model.memory import FLAN_T5_PARAMS

        small = FLAN_T5_PARAMS["google/flan-t5-small"]
        return cls(scale=max(1.0, (total_params or small) / small))

    def training(self, steps: int, batch_size: int) -> float:
        return self.load_seconds * self.scale + self.save_seconds * self.scale + \
            steps * batch_size * self.step_seconds_per_row * self.scale

    def generation(self, models: int, dialogues: int, max_new_tokens: int, batch_size: int) -> float:
        batches = math.ceil(dialogues / batch_size) if dialogues else 0
        return self.load_seconds * self.scale + models * batches * max_new_tokens * self.token_seconds * self.scale


# --------------------------------------------------------------------------- requests (picklable)

@dataclass
class TrainRequest:
    method: str
    train: TrainConfig
    runs_dir: str
    base: object                      # BaseModelChoice
    data: object                      # DialogData
    overrides: dict = field(default_factory=dict)
    name: str = ""
    precision: str = "auto"
    run_id: str | None = None         # chosen by the caller, so the UI can follow the run
    owner_hash: str = ""              # written with the run's first record: a stopped run stays its owner's
    max_seconds: int | None = None    # None: DEFAULT_MAX_SECONDS (the Studio passes its setting)
    cost: CostModel = field(default_factory=CostModel)


@dataclass
class GenerateRequest:
    model_ids: list[str]              # "original" or run ids
    dialogues: list[str]
    runs_dir: str
    base: object
    settings: object = None           # GenerationSettings
    precision: str = "auto"           # the studio's setting: the worker applies the same bf16 rule as it
    max_seconds: int | None = None
    cost: CostModel = field(default_factory=CostModel)


@dataclass
class EvaluateRequest:
    model_ids: list[str]              # "original" or run ids
    runs_dir: str
    base: object
    data: object
    limit: int = 50
    split: str = "test"
    settings: object = None
    precision: str = "auto"
    max_seconds: int | None = None
    cost: CostModel = field(default_factory=CostModel)


def _limit(request) -> int:
    return request.max_seconds or DEFAULT_MAX_SECONDS


def _refuse(what: str, needed: float, limit: int, advice: str) -> None:
    raise GpuTimeError(f"{what} needs about {math.ceil(needed)} s of GPU time, but one ZeroGPU call may hold "
                      f"the GPU for at most {limit} s. {advice}")


def training_duration(request: TrainRequest) -> int:
    cfg = request.train
    if cfg.steps is None:
        raise GpuTimeError("On ZeroGPU a training budget is a number of steps, not epochs: its duration must be "
                          "known before it starts.")
    return math.ceil(request.cost.training(cfg.steps, cfg.batch_size))


def check_training_gpu_seconds(request: TrainRequest) -> int:
    """The seconds to ask for; raises GpuTimeError (with the largest step count that fits) if over the limit."""
    request.train.validate()
    needed, limit = training_duration(request), _limit(request)
    if needed > limit:
        cost, batch = request.cost, request.train.batch_size
        fixed = (cost.load_seconds + cost.save_seconds) * cost.scale
        fits = max(0, math.floor((limit - fixed) / (batch * cost.step_seconds_per_row * cost.scale)))
        advice = (f"Choose at most {fits} steps at batch size {batch}, or train on a dedicated GPU."
                  if fits else "Even one step does not fit: use a dedicated GPU or a CPU Space.")
        _refuse(f"Training {request.train.steps} steps at batch size {batch}", needed, limit, advice)
    return needed


def _generation_settings(settings):
    from studio.generate.inference import GenerationSettings

    return (settings or GenerationSettings()).validate()


def generation_duration(request: GenerateRequest | EvaluateRequest) -> int:
    settings = _generation_settings(request.settings)
    dialogues = len(request.dialogues) if isinstance(request, GenerateRequest) else request.limit
    seconds = request.cost.generation(len(request.model_ids), dialogues, settings.max_new_tokens, settings.batch_size)
    if isinstance(request, EvaluateRequest):
        seconds += dialogues * len(request.model_ids) * request.cost.rouge_seconds_per_dialogue
    return math.ceil(seconds)


def check_generation_gpu_seconds(request: GenerateRequest | EvaluateRequest) -> int:
    """The seconds to ask for; raises GpuTimeError if the summaries cannot be made within the limit."""
    needed, limit = generation_duration(request), _limit(request)
    if needed > limit:
        count = len(request.dialogues) if isinstance(request, GenerateRequest) else request.limit
        _refuse(f"Summarizing {count} dialogues with {len(request.model_ids)} models", needed, limit,
                "Choose fewer dialogues or models, or fewer new tokens.")
    return needed


# --------------------------------------------------------------------------- the GPU functions

def _train_seconds_for(request: TrainRequest) -> int:
    return check_training_gpu_seconds(request)


@gpu(duration=_train_seconds_for)
def train_on_gpu(request: TrainRequest) -> Iterator[dict]:
    """Train one run, yielding its loss points as they come; the run is on disk before the last yield.

    Yields {"type": "step", ...} events as train_run emits them, then {"type": "done", "record": ...}.
    Closing the generator early stops the run, which is then saved as "stopped".
    """
    from studio.model.methods import registry
    from studio.store.runs import RunStore, new_run_id
    from studio.train.training import TrainSpec, train_run

    duration = check_training_gpu_seconds(request)  # again here: the decorator's callable is skipped off ZeroGPU
    spec = TrainSpec(request.method, request.train, registry.method_settings(request.method, request.overrides),
                     name=request.name, precision=request.precision, owner_hash=request.owner_hash)
    store = RunStore(Path(request.runs_dir))
    run_id = request.run_id or new_run_id(request.method)
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    outcome: dict = {}   # "record": the run's final record, or "error": what train_run raised

    def work() -> None:
        try:
            outcome["record"] = train_run(spec, store, request.base, request.data, events.put, stop, run_id)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below, not lost in the thread
            outcome["error"] = exc
        finally:
            events.put(None)

    # Stop in time to save: the lease ends at `duration`, and saving takes save_seconds.
    deadline = time.monotonic() + duration - request.cost.save_seconds * request.cost.scale
    worker = threading.Thread(target=work, name=f"zerogpu-train-{run_id}", daemon=True)
    worker.start()
    try:
        while True:
            try:
                event = events.get(timeout=1.0)
            except queue.Empty:
                event = ...
            if time.monotonic() > deadline:
                stop.set()
            if event is None:
                break
            if event is not ... and event.get("type") == "step":
                yield event
    finally:
        stop.set()  # a no-op once finished; a closed generator stops the run at the next step
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    yield {"type": "done", "record": outcome["record"]}


_pools: dict = {}


def _pool(runs_dir: str, base, precision: str = "auto"):
    """One model pool per (runs folder, base model, weights' dtype) in this process: a ZeroGPU worker is reused.

    The weights' dtype follows the studio's own rule (bf16 where the hardware runs it natively), applied
    to the hardware this runs on: on the same hardware a summary made here is the studio pool's, token
    for token; on a ZeroGPU worker's GPU the rule picks bf16 there as it would for a studio on that GPU.
    """
    from studio.generate.inference import ModelPool
    from studio.model.hardware import inference_dtype
    from studio.service.fairshare import current_turn
    from studio.store.runs import RunStore

    dtype = inference_dtype(precision)  # keyed by what it resolves to: "auto" and "bf16" may be one pool
    key = (str(Path(runs_dir).resolve()), base.path, dtype)
    if key not in _pools:
        _pools[key] = ModelPool(base, RunStore(Path(runs_dir)), dtype=dtype, turn_of=current_turn)
    return _pools[key]


def _generation_seconds_for(request) -> int:
    return check_generation_gpu_seconds(request)


@gpu(duration=_generation_seconds_for)
def summarize_on_gpu(request: GenerateRequest) -> dict[str, list[str]]:
    """Every model's summaries of every dialogue: {model id: [summary, ...]}."""
    check_generation_gpu_seconds(request)
    pool = _pool(request.runs_dir, request.base, request.precision)
    results = pool.summarize(request.model_ids, request.dialogues, _generation_settings(request.settings))
    return {model_id: result.summaries for model_id, result in results.items()}


@gpu(duration=_generation_seconds_for)
def evaluate_on_gpu(request: EvaluateRequest):
    """ROUGE of every model on the first `limit` dialogues of `split` (an EvaluationResult)."""
    from studio.measure.evaluation import evaluate_models

    check_generation_gpu_seconds(request)
    pool = _pool(request.runs_dir, request.base, request.precision)
    return evaluate_models(pool, request.data, request.model_ids, split=request.split, limit=request.limit,
                           settings=_generation_settings(request.settings))


def run_training(request: TrainRequest):
    """Drive train_on_gpu to its end and return the final record (for a child process or a script)."""
    record = None
    for event in train_on_gpu(request):
        if event["type"] == "done":
            record = event["record"]
    return record
