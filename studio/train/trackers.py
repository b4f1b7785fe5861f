"""A run reported to the trackers people use, through the Trainer's own integrations (`report_to`).

    require_tracker("tensorboard")       # TrackerMissing (a ValueError) with the pip line, before anything is queued
    plan = tracker_plan("mlflow", run_dir, runs_root)
    plan.record                          # {"tracker": "mlflow", "where": "sqlite:///.../runs/.mlflow/mlflow.db"}
    with reporting(plan):                # the integration's own variables, for this training only
        trainer = build_trainer(..., report_to=plan.tracker); trainer.train()

The studio writes no logger of its own: transformers' TensorBoardCallback, TrackioCallback,
MLflowCallback and WandbCallback do the logging, configured the way each documents, by
environment variables they read when the Trainer is built or training begins. Every default
keeps the run offline and on this machine; where the operator set a variable, theirs wins:
- TensorBoard: event files in the run's own folder, runs/<id>/tensorboard/ (the folder exists
  while the run trains, so nothing needs moving; `tensorboard --logdir runs` shows every run).
  A run's zip and its Hub upload leave them out on purpose: events.jsonl holds the same curve,
  and an event file names the server in its file name and its paths inside, in binary.
- Trackio: its own local store (TRACKIO_DIR, else ~/.cache/huggingface/trackio), project
  "tuning-studio"; a Space only where the operator set TRACKIO_SPACE_ID.
- MLflow: MLFLOW_TRACKING_URI if set, else a local SQLite store in the runs folder,
  runs/.mlflow/mlflow.db (MLflow 3.13 and later refuse a plain `file:` store unless told to),
  experiment "tuning-studio", telemetry off. Metrics and parameters only: transformers logs no
  artifacts unless HF_MLFLOW_LOG_ARTIFACTS is set (they would then go to MLflow's ./mlruns).
- Weights & Biases: offline (WANDB_MODE=offline) unless the operator set WANDB_MODE; its files
  under the run's folder, runs/<id>/wandb/, for a later `wandb sync`.

The variables are process-wide, so they are set only around one training at a time (a lock),
and put back after it. The studio's own trainings already run one at a time per process
(several workers are child processes: studio/service/workers.py).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from studio.config.settings import TRACKERS

PROJECT = "tuning-studio"       # the project / experiment name the trackers file the runs under
# What each tracker needs installed: the module transformers' integration imports, and the extra
# (pyproject.toml) that installs it.
PACKAGES = {"tensorboard": "tensorboard", "trackio": "trackio", "mlflow": "mlflow", "wandb": "wandb"}
LABELS = {"tensorboard": "TensorBoard", "trackio": "Trackio", "mlflow": "MLflow", "wandb": "Weights & Biases"}
# The variables each integration reads (and may set): restored after a training.
ENV_PREFIXES = {"tensorboard": "TENSORBOARD_", "trackio": "TRACKIO_", "mlflow": "MLFLOW_", "wandb": "WANDB_"}
TENSORBOARD_FOLDER = "tensorboard"
MLFLOW_STORE = Path(".mlflow") / "mlflow.db"     # under the runs folder; a dot keeps it out of the run list

_one_at_a_time = threading.Lock()


class TrackerMissing(ValueError):
    """The chosen tracker's package is not installed here: a user's error, said before anything is queued."""


def is_installed(tracker: str) -> bool:
    return tracker == "none" or importlib.util.find_spec(PACKAGES[tracker]) is not None


def installed_trackers() -> list[str]:
    return [t for t in TRACKERS if t != "none" and is_installed(t)]


def require_tracker(tracker: str) -> None:
    """Refuse a tracker whose package is missing, saying how to install it (a crash mid-run helps no one)."""
    if tracker not in TRACKERS:
        raise ValueError(f"The tracker must be one of {', '.join(TRACKERS)}, not {str(tracker)[:40]!r}.")
    if not is_installed(tracker):
        raise TrackerMissing(
            f"Reporting to {LABELS[tracker]} needs the {PACKAGES[tracker]} package, which is not installed here: "
            f"pip install 'tuning-studio[{tracker}]' (or pip install {PACKAGES[tracker]}), then start the "
            "studio again (or report to none).")


@dataclass
class TrackerPlan:
    tracker: str
    env: dict[str, str] = field(default_factory=dict)   # variables to set while the run trains
    record: dict | None = None                          # run.json's "reported_to"
    folders: tuple[Path, ...] = ()                      # made before training (SQLite makes no folder)


def tracker_plan(tracker: str, run_dir: Path, runs_root: Path, env=None) -> TrackerPlan:
    """Where `tracker` puts this run, and the variables that send it there (the operator's kept)."""
    env = os.environ if env is None else env
    run_dir, runs_root = Path(run_dir), Path(runs_root)
    if tracker == "tensorboard":
        where = str(run_dir / TENSORBOARD_FOLDER)
        # Always the run's own folder: that is where the run's files live, whatever else is configured.
        return TrackerPlan(tracker, {"TENSORBOARD_LOGGING_DIR": where}, {"tracker": tracker, "where": where})
    if tracker == "trackio":
        store = env.get("TRACKIO_DIR") or str(Path(env.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
                                              / "trackio")
        record = {"tracker": tracker, "where": store, "project": PROJECT}
        if env.get("TRACKIO_SPACE_ID"):
            record["space"] = env["TRACKIO_SPACE_ID"]
        return TrackerPlan(tracker, {}, record)
    if tracker == "mlflow":
        own = runs_root / MLFLOW_STORE
        uri = env.get("MLFLOW_TRACKING_URI") or "sqlite:///" + str(own)
        wanted = {"MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": PROJECT}
        if not env.get("MLFLOW_TRACKING_URI"):   # a local store stays local: no usage reports either
            wanted["MLFLOW_DISABLE_TELEMETRY"] = "true"
        record = {"tracker": tracker, "where": without_secrets(uri),
                  "experiment": env.get("MLFLOW_EXPERIMENT_NAME") or PROJECT}
        folders = () if env.get("MLFLOW_TRACKING_URI") else (own.parent,)
        return TrackerPlan(tracker, _unset(wanted, env), record, folders)
    if tracker == "wandb":
        wanted = {"WANDB_MODE": "offline", "WANDB_DIR": str(run_dir), "WANDB_PROJECT": PROJECT}
        plan = _unset(wanted, env)
        mode = env.get("WANDB_MODE") or "offline"
        where = str(Path(env.get("WANDB_DIR") or run_dir) / "wandb")
        return TrackerPlan(tracker, plan, {"tracker": tracker, "where": where, "mode": mode,
                                           "project": env.get("WANDB_PROJECT") or PROJECT})
    return TrackerPlan("none")


def _unset(wanted: dict[str, str], env) -> dict[str, str]:
    return {name: value for name, value in wanted.items() if not env.get(name)}


def without_secrets(uri: str) -> str:
    """A tracking URI as a record may keep it: no user name, password or query (tokens travel there)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "(a tracking URI that does not parse)"
    if "@" not in parts.netloc and not parts.query and not parts.fragment:
        return uri   # nothing to hide; urlunsplit would also turn sqlite:////abs into sqlite://abs
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


@contextlib.contextmanager
def reporting(plan: TrackerPlan):
    """The plan's variables set for one training, then put back; the tracker's run ended after it."""
    if plan.tracker == "none":
        yield
        return
    with _one_at_a_time:
        # The tracker's own variables as they were, to put back: ours, and those it sets itself
        # (MLflow leaves MLFLOW_EXPERIMENT_ID behind, which would steer the next run).
        prefix = ENV_PREFIXES[plan.tracker]
        before = {name: value for name, value in os.environ.items() if name.startswith(prefix)}
        for folder in plan.folders:
            folder.mkdir(parents=True, exist_ok=True)
        os.environ.update(plan.env)
        try:
            yield
        finally:
            _end_open_run(plan.tracker)
            for name in [n for n in os.environ if n.startswith(prefix) and n not in before]:
                del os.environ[name]
            os.environ.update(before)


def _end_open_run(tracker: str) -> None:
    """transformers' W&B callback leaves its run open at the end of training (it may log more later); the
    studio's next training is another run, so it is ended here. W&B also reads its variables once per
    process (its session), so the session is closed too: the next run then writes into its own folder.
    The other integrations end their own runs."""
    wandb = sys.modules.get("wandb") if tracker == "wandb" else None
    if wandb is None:
        return
    if getattr(wandb, "run", None) is not None:
        wandb.finish()
    wandb.teardown()
