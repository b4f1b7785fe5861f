"""Where trainings run: how many at once, on which device, in which process, and what fits.

    workers = Workers.for_settings(settings, base_shape=studio._base_shape)   # STUDIO_TRAINING_WORKERS
    queue = JobQueue(run_fn, workers=workers.count, placer=workers)         # when workers.count > 1
    placement = workers.place(spec)       # a device with room for it next to the running ones, or None
    record = workers.run(placement, spec, store, base, data, listener, stop_event, run_id)
    workers.release(placement)

One worker (the default) trains in the studio's own process, in the queue's thread,
as it always has. With STUDIO_TRAINING_WORKERS=N above 1, each training is a child
process of its own (`python -m studio.service.workers`):
- on a machine with GPUs, the child sees one GPU (CUDA_VISIBLE_DEVICES): the one
  running fewest trainings, so N trainings on N GPUs get one each;
- on a CPU, the child gets its share of the cores (cores // N threads, set before
  torch loads). torch.set_num_threads is process-wide, so threads of one process
  could not each have their own count: N trainings in one process would each ask
  for every core and fight over them.
The memory estimate (studio/model/memory.py) decides what fits: the running trainings'
estimates on a device add up to at most its budget (each GPU's memory; on the CPU,
STUDIO_TRAINING_MEMORY_GB, else 80% of the memory free when the studio starts). A
training that does not fit waits, and so do those behind it: the queue's fair order
stays (nobody skips ahead of a big run for ever). A training alone always runs.

With STUDIO_RAY_ADDRESS the trainings go to a Ray cluster instead (studio/service/ray_worker.py);
N then caps how many are handed to Ray at once, and Ray's scheduler places them.

The child reads its request (one line of JSON, from the studio that started it, over
its stdin; request_to_json names every dataclass it may hold, so nothing else can be built
from it) and then "stop" lines; it writes one JSON object per line to its stdout:
{"event": {...}} as the run goes, then {"record": {...}} (or {"paused": {...}} when its turn ended
early). Its own prints go to stderr.
If the studio goes away (stdin closes), the child stops the run and saves it as stopped.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from studio.store.records import BadRecord, RunRecord, typed_record
from studio.train.outcome import NoRecord, PausedTurn, TrainOutcome

GB = 1024 ** 3
# Of the memory free at start-up, the share trainings may fill together: the rest stays for the
# model pool (summaries), Gradio and the system.
CPU_MEMORY_SHARE = 0.8
# Of a GPU's memory, the share the studio plans with (CUDA's context and allocator keep the rest).
GPU_MEMORY_SHARE = 0.9


@dataclass(frozen=True)
class Device:
    name: str                 # "cpu", "cuda:0", ...
    memory_gb: float          # what trainings on it may use together
    gpu: int | None = None    # the CUDA index a child process is given


@dataclass
class Placement:
    """Where one training runs, and what it was estimated to need there."""
    kind: str                 # "thread" (this process), "process" (a child) or "ray"
    device: Device | None
    need_gb: float
    threads: int = 0          # the child's torch threads (0: its default)
    gpus: float = 0.0         # for Ray: the GPUs the task asks for


@dataclass
class WorkerRequest:
    """What a child process needs to train one run: plain values and the dataclasses request_to_json knows."""
    spec: object              # training.TrainSpec
    runs_dir: str
    base: object              # base_model.BaseModelChoice
    data: object              # data.DialogData
    run_id: str
    threads: int = 0
    extra: dict = field(default_factory=dict)   # further train_run keywords, passed through


def spec_memory_gb(shape, spec) -> float:
    """studio.model.memory's estimate for this training (its method, batch and method settings), in GB."""
    from studio.model.memory import training_memory

    return training_memory(shape, spec.method, batch_size=spec.train.batch_size,
                           settings=getattr(spec, "settings", None))["total_gb"]


def local_devices(settings) -> list[Device]:
    """The GPUs (each with its memory), or the CPU with the trainings' share of the memory."""
    import torch

    if torch.cuda.is_available():
        return [Device(f"cuda:{i}", torch.cuda.get_device_properties(i).total_memory * GPU_MEMORY_SHARE / GB, gpu=i)
                for i in range(torch.cuda.device_count())]
    return [Device("cpu", cpu_training_memory_gb(settings))]


def cpu_training_memory_gb(settings) -> float:
    if settings.training_memory_gb:
        return float(settings.training_memory_gb)
    import psutil

    return psutil.virtual_memory().available * CPU_MEMORY_SHARE / GB


def cpu_cores(settings) -> int:
    """The cores trainings share: STUDIO_TORCH_THREADS where set, else those this process may run on."""
    if settings.torch_threads:
        return settings.torch_threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Workers:
    """The training slots of one studio and what runs in them (the queue calls place/release under its lock)."""

    def __init__(self, count: int, devices: list[Device], cores: int, base_shape=None, ray=None):
        if count < 1:
            raise ValueError("A studio needs at least one training worker.")
        self.count = count
        self.devices = devices
        self.threads = max(1, cores // count)
        self._base_shape = base_shape      # () -> T5Shape of the loaded base, for the estimate
        self._ray = ray                    # ray_worker.RayWorkers, or None
        self._running: list[Placement] = []

    @classmethod
    def for_settings(cls, settings, base_shape=None, ray=None) -> Workers:
        """`ray`: a ray_worker.RayWorkers where settings.ray_address names a cluster (the caller builds it:
        ray_worker imports this module, so this one does not import it back)."""
        count = settings.training_workers
        if ray is not None:
            return cls(count, [], 1, base_shape, ray=ray)
        return cls(count, local_devices(settings), cpu_cores(settings), base_shape)

    @property
    def kind(self) -> str:
        return "ray" if self._ray else "thread" if self.count == 1 else "process"

    def describe(self) -> str:
        """One line for the console and the docs: how trainings run here."""
        if self._ray:
            return f"up to {self.count} training(s) at once as Ray tasks ({self._ray.address})"
        if self.count == 1:
            return "one training at a time, in the studio's process"
        where = ", ".join(f"{d.name} ({d.memory_gb:.1f} GB for training)" for d in self.devices)
        threads = "" if self.devices[0].gpu is not None else f", {self.threads} thread(s) each"
        return f"up to {self.count} trainings at once, each in its own process{threads}, on {where}"

    def need_gb(self, spec) -> float:
        """The training's estimated peak memory; 0 when the base's shape is unknown (count alone decides)."""
        if self._base_shape is None:
            return 0.0
        try:
            return spec_memory_gb(self._base_shape(), spec)
        except Exception:  # noqa: BLE001 - a base the estimate does not know must not block the queue
            return 0.0

    def running(self) -> list[Placement]:
        return list(self._running)

    def place(self, spec) -> Placement | None:
        """Where the training runs if it starts now; None while it must wait (no free worker, or no room)."""
        if len(self._running) >= self.count:
            return None
        need = self.need_gb(spec)
        if self._ray:
            placement = Placement("ray", None, need, threads=1, gpus=self._ray.gpus_per_task())
        else:
            device = self._device_for(need)
            if device is None:
                return None
            kind = "thread" if self.count == 1 else "process"
            placement = Placement(kind, device, need, threads=self.threads if device.gpu is None else 0)
        self._running.append(placement)
        return placement

    def _device_for(self, need: float) -> Device | None:
        """The device running fewest trainings among those with room for `need`; any, when nothing runs."""
        if not self._running:
            return min(self.devices, key=lambda d: -d.memory_gb)
        def used(device):
            return sum(p.need_gb for p in self._running if p.device == device)
        def count(device):
            return sum(1 for p in self._running if p.device == device)
        roomy = [d for d in self.devices if used(d) + need <= d.memory_gb]
        return min(roomy, key=lambda d: (count(d), used(d))) if roomy else None

    def release(self, placement: Placement | None) -> None:
        if placement is not None and placement in self._running:
            self._running.remove(placement)

    def run(self, placement: Placement, spec, store, base, data, listener, stop_event, run_id,
            **extra) -> TrainOutcome:
        """Train in the placement's worker; returns how the training ended (as train_run does: a TrainOutcome)."""
        if placement.kind == "thread":
            from studio.train.training import train_run

            return train_run(spec, store, base, data, listener, stop_event, run_id, **extra)
        request = WorkerRequest(spec, str(store.root), base, data, run_id, placement.threads, extra)
        if placement.kind == "ray":
            return self._ray.train(request, placement, listener, stop_event, store)
        return train_in_child(request, placement.device, listener, stop_event, store)


# --------------------------------------------------------------------------- the request, as JSON

def _known_types() -> dict[str, type]:
    """The only classes a request may rebuild: a request is data, never code (no pickle)."""
    from studio.config.settings import TrainConfig
    from studio.data.dialogsum import DialogData, Example
    from studio.model.base_model import BaseModelChoice
    from studio.model.methods import registry
    from studio.train.training import TrainSpec

    kinds = (WorkerRequest, TrainSpec, TrainConfig, *registry.settings_classes(), BaseModelChoice, DialogData,
             Example)
    return {kind.__name__: kind for kind in kinds}


def _encode(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__,
                **{f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("A worker request's mappings must have string keys.")
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"A worker request cannot carry a {type(value).__name__}.")


def _decode(value, kinds: dict[str, type]):
    if isinstance(value, list):
        return [_decode(v, kinds) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v, kinds) for v in value["__tuple__"])
    if "__type__" in value:
        kind = kinds.get(value["__type__"])
        if kind is None:
            raise ValueError(f"A worker request named an unknown type {value['__type__']!r}.")
        names = {f.name for f in dataclasses.fields(kind) if f.init}
        return kind(**{k: _decode(v, kinds) for k, v in value.items() if k in names})
    return {k: _decode(v, kinds) for k, v in value.items()}


def request_to_json(request: WorkerRequest) -> str:
    return json.dumps(_encode(request))


def request_from_json(text: str) -> WorkerRequest:
    request = _decode(json.loads(text), _known_types())
    if not isinstance(request, WorkerRequest):
        raise ValueError("The worker's request is not a WorkerRequest.")
    return request


# --------------------------------------------------------------------------- the child process

def child_environment(threads: int, gpu: int | None, base_env=None) -> dict:
    """The child's environment: its thread count before torch reads it, and the one GPU it may see."""
    env = dict(os.environ if base_env is None else base_env)
    if threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu)
    env["TOKENIZERS_PARALLELISM"] = "false"
    # The child imports this checkout's studio, wherever the studio was started from.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def train_in_child(request: WorkerRequest, device: Device | None, listener, stop_event, store) -> TrainOutcome:
    """Train one run in a child process; relay its events to `listener` and `stop_event` to it."""
    child = subprocess.Popen([sys.executable, "-m", "studio.service.workers"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=None,
                             env=child_environment(request.threads, device.gpu if device else None))
    child.stdin.write(request_to_json(request).encode() + b"\n")
    child.stdin.flush()
    ended = threading.Event()
    threading.Thread(target=_forward_stop, args=(child, stop_event, ended), daemon=True,
                     name=f"studio-stop-{request.run_id}").start()
    outcome = None
    try:
        for line in child.stdout:
            message = _message(line)
            if "event" in message and listener is not None:
                listener(message["event"])
            elif "record" in message or "paused" in message:
                outcome = _outcome_from_message(message)
        child.wait()
    finally:
        ended.set()
        if child.poll() is None:
            child.kill()
            child.wait()
    if outcome is not None:
        return outcome
    return lost_worker_record(store, request.run_id, "The worker process training this run ended unexpectedly "
                              f"(exit code {child.returncode}).")


def _outcome_message(outcome: RunRecord | PausedTurn) -> dict:
    """What the child sends when its training ends: {"record": run.json's fields} or {"paused": ...}."""
    if isinstance(outcome, PausedTurn):
        return {"paused": outcome.paused, "run_id": outcome.run_id}
    return {"record": outcome.as_dict()}


def _outcome_from_message(message: dict) -> TrainOutcome:
    if "paused" in message:
        return PausedTurn(str(message.get("run_id")), message["paused"])
    try:
        return typed_record(message["record"])
    except BadRecord as exc:
        return NoRecord(f"The worker process sent back a record of the wrong shape ({exc}).")


def _message(line: bytes) -> dict:
    try:
        message = json.loads(line)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def _forward_stop(child, stop_event, ended: threading.Event) -> None:
    """Tell the child to stop once the studio asks; wake every quarter second to notice the end."""
    while not ended.is_set():
        if stop_event.wait(0.25):
            try:
                child.stdin.write(b"stop\n")
                child.stdin.flush()
            except (OSError, ValueError):
                pass  # it has ended meanwhile
            return


def lost_worker_record(store, run_id: str, message: str) -> RunRecord | NoRecord:
    """A worker that ended without its record (killed, or out of memory): its run says so, once."""
    from studio.store.runs import RunNotFound

    try:
        record = store.get(run_id)
    except RunNotFound:
        return NoRecord(message + " It had not created the run yet.")
    # The store already reads a run whose process has gone as interrupted; this writes it down, with the cause.
    if record.status in ("running", "interrupted") and not record.finished_at:
        record = store.finish(run_id, "interrupted", error=message)
    return record


def child_main() -> None:
    """`python -m studio.service.workers`: train the run described on stdin (see the module's docstring)."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())   # stray prints must not break the channel
    request = request_from_json(sys.stdin.buffer.readline().decode())
    stop = threading.Event()
    threading.Thread(target=_read_commands, args=(stop,), daemon=True, name="studio-commands").start()
    import torch

    from studio import freeze_startup_objects, quiet_libraries
    from studio.store.runs import RunStore
    from studio.train.training import train_run

    quiet_libraries()   # as in the studio's own process: no progress bars or notices on the console
    freeze_startup_objects()   # the Trainer's forced collection then skips the imported libraries
    if request.threads:
        torch.set_num_threads(request.threads)
    store = RunStore(Path(request.runs_dir))
    lock = threading.Lock()

    def emit(event: dict) -> None:
        with lock:
            channel.write(json.dumps({"event": event}) + "\n")

    outcome = train_run(request.spec, store, request.base, request.data, emit, stop, request.run_id,
                        **request.extra)
    store.flush()   # a final state the disk refused gets its last try here (os._exit skips atexit)
    with lock:
        channel.write(json.dumps(_outcome_message(outcome)) + "\n")
    channel.flush()
    sys.stderr.flush()
    # Not a normal exit: the command reader is blocked on stdin, and interpreter shutdown would wait on it.
    os._exit(0)


def _read_commands(stop: threading.Event) -> None:
    for line in sys.stdin.buffer:
        if line.strip() == b"stop":
            stop.set()
    stop.set()  # stdin closed: the studio has gone, so stop and save what there is


if __name__ == "__main__":
    child_main()
