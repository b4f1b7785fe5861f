"""Trainings as Ray tasks: past one machine, on Ray's scheduler rather than our own.

    STUDIO_RAY_ADDRESS=ray://head:10001 STUDIO_TRAINING_WORKERS=8 python app.py
    ray_workers = RayWorkers("auto")                  # or "local": this process's own Ray instance
    record = ray_workers.train(request, placement, listener, stop_event, store)

The studio's queue keeps its fair order and hands up to STUDIO_TRAINING_WORKERS
trainings to Ray at once; each is one task asking for one CPU, one GPU where the
cluster has GPUs, and the memory studio/model/memory.py estimates for it, so Ray starts
it on a node with room (and holds it until there is). The task runs train_run
itself: it writes the run into the run store (STUDIO_RUNS_DIR must be a folder
every node shares, and every node needs the studio installed: `pip install .[ray]`),
and pushes each event to a small channel actor. The studio drains the channel into
the job's events, so the live plot follows a Ray run as it follows a local one; a
Stop is answered on the task's next event, which ends the run as "stopped" with its
model saved, exactly as in-process.

Ray is an optional extra: this module imports it only when a studio is set up to use it.
"""
from __future__ import annotations

import threading

from studio.service.workers import GB, WorkerRequest, lost_worker_record

# How often the studio drains a running task's events into the job (the live plot polls about once a second).
POLL_SECONDS = 0.25


def ray_installed() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


class RayWorkers:
    """Connects to the cluster on first use; one channel actor per studio carries every task's events."""

    def __init__(self, address: str):
        if not ray_installed():
            raise ValueError("STUDIO_RAY_ADDRESS is set, but Ray is not installed: pip install '.[ray]' "
                             "(or unset STUDIO_RAY_ADDRESS to train in the studio's own process).")
        self.address = address
        self._lock = threading.Lock()
        self._channel = None
        self._task = None

    def _connect(self):
        import ray

        with self._lock:
            if not ray.is_initialized():
                # "local": start (or join) a Ray instance on this machine; anything else is a cluster address.
                ray.init(address=None if self.address == "local" else self.address, ignore_reinit_error=True,
                         include_dashboard=False, log_to_driver=False)
            if self._channel is None:
                # No CPU of its own: it only moves small messages, and must not take a training's place.
                self._channel = ray.remote(num_cpus=0)(EventChannel).remote()
                self._task = ray.remote(train_task)
        return ray

    def gpus_per_task(self) -> float:
        """One GPU per training where the cluster has GPUs (as one per GPU locally), else none."""
        ray = self._connect()
        return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0

    def train(self, request: WorkerRequest, placement, listener, stop_event, store) -> dict:
        """Run one training as a Ray task; relay its events and a stop; return its final record."""
        ray = self._connect()
        options = {"num_cpus": 1, "num_gpus": placement.gpus, "max_retries": 0}
        if placement.need_gb:
            options["memory"] = int(placement.need_gb * GB)   # Ray's memory request is in bytes
        request.threads = 1
        run_id = request.run_id
        ref = self._task.options(**options).remote(request, self._channel)
        seen, stop_sent = 0, False
        try:
            while True:
                done, _ = ray.wait([ref], timeout=POLL_SECONDS)
                if stop_event.is_set() and not stop_sent:
                    self._channel.stop.remote(run_id)
                    stop_sent = True
                seen += self._relay(ray, run_id, seen, listener)
                if done:
                    break
            try:
                return ray.get(ref)
            except ray.exceptions.RayError as exc:  # the task's process died, or the cluster lost it
                return lost_worker_record(store, run_id, f"The Ray task training this run ended unexpectedly "
                                                         f"({type(exc).__name__}).")
        finally:
            self._channel.forget.remote(run_id)

    def _relay(self, ray, run_id: str, seen: int, listener) -> int:
        events = ray.get(self._channel.take.remote(run_id, seen))
        for event in events:
            if listener is not None:
                listener(event)
        return len(events)


class EventChannel:
    """A Ray actor: each task's events in order, and which runs were asked to stop."""

    def __init__(self):
        self._events: dict[str, list] = {}
        self._stops: set[str] = set()

    def push(self, run_id: str, event: dict) -> bool:
        """Keep one event; True when the run has been asked to stop."""
        self._events.setdefault(run_id, []).append(event)
        return run_id in self._stops

    def take(self, run_id: str, seen: int) -> list:
        return self._events.get(run_id, [])[seen:]

    def stop(self, run_id: str) -> None:
        self._stops.add(run_id)

    def forget(self, run_id: str) -> None:
        self._events.pop(run_id, None)
        self._stops.discard(run_id)


def train_task(request: WorkerRequest, channel) -> dict:
    """The Ray task: train the run into the shared run store, events to the channel."""
    from pathlib import Path

    import ray
    import torch

    from studio.store.runs import RunStore
    from studio.train.training import train_run

    torch.set_num_threads(max(1, request.threads))
    stop = threading.Event()

    def emit(event: dict) -> None:
        if ray.get(channel.push.remote(request.run_id, event)):
            stop.set()   # the Trainer's callback checks this after the step that follows

    return train_run(request.spec, RunStore(Path(request.runs_dir)), request.base, request.data, emit, stop,
                     request.run_id, **request.extra)
