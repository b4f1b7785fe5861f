"""A paused run's checkpoint: where it lives, the model inside it, and its removal.

    folder = checkpoint_root(store, run_id)     # runs/.checkpoints/<run_id>/: the Trainer's output_dir
    latest_checkpoint(folder)                   # .../checkpoint-40 (model, optimizer, scheduler, RNG states)
    stop_from_checkpoint(store, run_id, paused)   # Stop while paused: the model at the pause is kept
    remove_checkpoints(store, run_id)           # once the run has ended, or is deleted

A run that takes turns with others (jobs.py) is checkpointed by the Trainer's own
machinery when its turn ends, and `trainer.train(resume_from_checkpoint=...)` carries
on from there. The checkpoint lives in the run store, beside the runs, so it survives
a restart of the studio (on a Space, the mounted /data), and not in a run's own folder:
a run folder holds what a run *is* (record, loss curve, model), which zips and pushes
copy, while a checkpoint is the Trainer's working state, pickles and all, that only
the studio that paused the run reads back. The folder name starts with a dot, so the
store never takes it for a run.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

CHECKPOINTS = ".checkpoints"
CHECKPOINT_NAME = re.compile(r"checkpoint-(\d+)")
# The Trainer's own state in a checkpoint, beside the model files: what resuming needs and a
# model folder must not hold (optimizer.pt and friends are pickles; the run store refuses them).
TRAINER_STATE = re.compile(r"(optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state.*\.pth|trainer_state\.json|"
                           r"training_args\.bin)")
MODEL_SUFFIXES = (".safetensors", ".json", ".model", ".txt", ".md")


def checkpoint_root(store, run_id: str) -> Path:
    """The folder the Trainer of `run_id` saves its checkpoints in (not made here)."""
    store.path(run_id)   # a plain run id only: RunNotFound for anything else
    return store.root / CHECKPOINTS / run_id


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint-<step> folder in `folder` (the Trainer keeps one: save_total_limit=1)."""
    try:
        found = [(int(m.group(1)), entry) for entry in Path(folder).iterdir()
                 if entry.is_dir() and (m := CHECKPOINT_NAME.fullmatch(entry.name))]
    except OSError:
        return None
    return max(found)[1] if found else None


def is_checkpoint(path) -> bool:
    """True for a checkpoint folder the Trainer can resume from (its state and a model are there)."""
    folder = Path(path)
    return (folder / "trainer_state.json").is_file() and any(folder.glob("*.safetensors"))


def copy_model(checkpoint: Path, folder: Path) -> None:
    """The model files of a checkpoint (safetensors, configs, tokenizer) into `folder`, nothing of the Trainer's."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in Path(checkpoint).iterdir():
        if entry.is_file() and not entry.is_symlink() and entry.suffix in MODEL_SUFFIXES \
                and not TRAINER_STATE.fullmatch(entry.name):
            shutil.copyfile(entry, folder / entry.name)


def remove_checkpoints(store, run_id: str) -> None:
    shutil.rmtree(checkpoint_root(store, run_id), ignore_errors=True)


def stop_from_checkpoint(store, run_id: str, paused: dict) -> dict:
    """End a paused run without training on, as "stopped" with the model at the pause (as a Stop while
    training keeps the model so far); "interrupted" when the checkpoint cannot be read. The checkpoint goes."""
    checkpoint = Path(paused.get("checkpoint") or "")
    fields = {"steps": paused.get("step"), "train_seconds": round(float(paused.get("train_seconds", 0.0)), 3),
              "train_loop_seconds": round(float(paused.get("loop_seconds", 0.0)), 3), "paused": None,
              "turns": paused.get("turns")}
    if paused.get("steps_per_epoch"):
        fields["epochs"] = round(paused["step"] / paused["steps_per_epoch"], 3)
    losses = [e["loss"] for e in store.events(run_id) if e.get("type") == "step"]
    if losses:
        fields.update(final_loss=losses[-1], final_loss_avg5=sum(losses[-5:]) / len(losses[-5:]))
    try:
        if is_checkpoint(checkpoint):
            return store.finish(run_id, "stopped", save_model=lambda folder: copy_model(checkpoint, folder), **fields)
        return store.finish(run_id, "interrupted", error="Stopped while paused, but its checkpoint could not be read.",
                            **fields)
    finally:
        remove_checkpoints(store, run_id)


def orphaned_checkpoints(store) -> list[str]:
    """Checkpoint folders no run needs: no run still training (a live process) owns it."""
    root = store.root / CHECKPOINTS
    try:
        entries = [entry.name for entry in root.iterdir() if entry.is_dir()]
    except OSError:
        return []
    from studio.store.runs import RunNotFound, is_run_id

    gone = []
    for run_id in entries:
        if not is_run_id(run_id):   # not the studio's: left alone
            continue
        try:
            if store.get(run_id).status == "running":   # as_seen: its process is alive
                continue
        except RunNotFound:
            pass
        gone.append(run_id)
    return gone
