"""Settings and hyperparameters: the one place that reads the environment.

    settings = Settings.from_env()                       # environment only
    settings = Settings.from_env(base_model="./my-t5")   # a CLI flag beats the environment
    cfg = TrainConfig(steps=30)
    hub_offline(); hub_endpoint(); on_zerogpu()          # process-wide switches, read when used

Every variable the studio reads is read here: the studio's own (STUDIO_*) into Settings when it
starts, and the few switches that belong to the process and its libraries (HF_HUB_OFFLINE, which
network.enter_offline_mode turns on while the studio runs; HF_ENDPOINT; SPACES_ZERO_GPU, which
decides at import whether `spaces` wraps the GPU functions) by the functions below, each time they
are needed. tests/test_layers.py checks that no module outside studio/config reads the environment.

What every method shares is here (TrainConfig, generation, evaluation); each method's own
settings dataclass lives in its module under studio/model/methods/, which this layer may
not import (registry.py says why). Every hyperparameter is one `setting(...)` line: its
help, bounds and choices give the CLI flags, the UI widgets' limits and the checks (see
declare.py).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from studio.config.declare import parse, setting, spec, validate_fields

DEFAULT_BASE_MODEL = "google/flan-t5-small"
DEFAULT_DATA = "knkarthick/dialogsum"
ORIGINAL = "original"     # the untuned base model, wherever a run id could stand
PRECISIONS = ("auto", "fp32", "bf16")
EXECUTION_MODES = ("queue", "zerogpu")
# Where a run may also be reported, through the Trainer's own integrations (studio/train/trackers.py).
TRACKERS = ("none", "tensorboard", "trackio", "mlflow", "wandb")
COMPILE_CHOICES = ("auto", "on", "off")   # TrainConfig.compile

# Server-side limits on inputs that are not hyperparameters (those carry their bounds below).
MAX_DIALOGUE_CHARS = 20_000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _default_runs_dir(data: Path = Path("/data")) -> Path:
    # Hugging Face Spaces with persistent storage mount it at /data; runs kept
    # there survive a restart of the Space.
    if data.is_dir() and os.access(data, os.W_OK):
        return data / "runs"
    return Path("runs")


def _default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tuning-studio"


def cache_dir_from(env) -> Path:
    """The studio's cache folder: STUDIO_CACHE_DIR, else the user's cache folder."""
    return Path(env["STUDIO_CACHE_DIR"]) if env.get("STUDIO_CACHE_DIR") else _default_cache_dir()


def compile_cache_dir(env=None) -> Path:
    """Where torch.compile keeps its caches and this machine's measured profile (STUDIO_CACHE_DIR/compile).

    Read where a training compiles, which may be a child process with no Settings of its own."""
    return cache_dir_from(os.environ if env is None else env) / "compile"


def inductor_cache_dir(default: str, env=None) -> Path:
    """Where inductor keeps compiled kernels and graphs: the operator's TORCHINDUCTOR_CACHE_DIR, else
    the studio's (compile_cache_dir()/inductor). `default` is inductor's own /tmp folder: importing
    transformers' Trainer writes it into the variable, so that value is taken as unset, not as a choice."""
    env = os.environ if env is None else env
    chosen = env.get("TORCHINDUCTOR_CACHE_DIR")
    if chosen and Path(chosen) != Path(default):
        return Path(chosen)
    return compile_cache_dir(env) / "inductor"


def _is_on(value) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def hub_offline(env=None) -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it: every Hugging Face library keeps to its local cache.

    Read when a model is loaded rather than kept: the studio turns it on itself when no network answers."""
    return _is_on((os.environ if env is None else env).get("HF_HUB_OFFLINE"))


def hub_endpoint(env=None) -> str:
    """HF_ENDPOINT: the hub the Hugging Face libraries talk to (a mirror, or huggingface.co)."""
    return ((os.environ if env is None else env).get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def on_zerogpu(env=None) -> bool:
    """SPACES_ZERO_GPU: this process runs on a ZeroGPU Space (set by the Space, spelled as `spaces` spells it)."""
    return (os.environ if env is None else env).get("SPACES_ZERO_GPU", "").strip().lower() in ("1", "t", "true")


@dataclass
class Settings:
    base_model: str = DEFAULT_BASE_MODEL
    # True when someone named the base model (flag or env): it is then never
    # silently swapped for the offline stand-in.
    base_model_explicit: bool = False
    data: str = DEFAULT_DATA
    data_explicit: bool = False     # as for the base model: a named dataset is never swapped
    runs_dir: Path = field(default_factory=_default_runs_dir)
    cache_dir: Path = field(default_factory=_default_cache_dir)
    # None: probe the network once; True/False: decided by whoever runs us.
    offline: bool | None = None
    # Base models a UI user may pick; the operator sets this, users cannot.
    allowed_base_models: tuple[str, ...] = ()
    # torch intra-op threads for training and generation (0 = torch's default).
    torch_threads: int = 0
    # "auto": bf16 where the hardware runs it natively (CUDA with bf16, CPUs with AVX-512 BF16
    # or AMX), else fp32. Never fp16: T5's activations overflow to NaN.
    precision: str = "auto"
    # A Space shown to an audience (STUDIO_PRESENTER=1): the UI hides training, rename and
    # delete, and shows the runs already saved, so a stray click cannot derail the demo.
    presenter: bool = False
    # Fair sharing between the people of one studio (docs/reliability.md, "Sharing fairly"); each
    # is read from the environment variable named in its help. Defaults allow all the form allows.
    max_steps_per_run: int = setting(help="STUDIO_MAX_STEPS_PER_RUN: optimizer steps one training may take",
                                     low=1, high=10**9, default_factory=lambda: _form_high(TrainConfig, "steps"))
    max_generation_cost: int = setting(
        help="STUDIO_MAX_GENERATION_COST: beams x new tokens x dialogue characters one summary may ask for",
        low=1, high=10**15, default_factory=lambda: (_form_high(GenerationSettings, "num_beams")
                                                     * _form_high(GenerationSettings, "max_new_tokens")
                                                     * MAX_DIALOGUE_CHARS))
    # A "client" is a person: a signed-in Hugging Face user, or the signed token a browser holds
    # (studio/service/people.py). The address is only the coarse cap below, sized for a room behind one NAT.
    max_generations_per_client: int = setting(
        4, "STUDIO_MAX_GENERATIONS_PER_CLIENT: summaries or evaluations one person may have waiting or running",
        low=1, high=10_000)
    max_trainings_per_client: int = setting(
        3, "STUDIO_MAX_TRAININGS_PER_CLIENT: trainings one person may have queued or running", low=1, high=10_000)
    # A workshop of 30 on one venue Wi-Fi is one address; 40 leaves room for the presenter and
    # helpers while a script that opens fresh sessions from one address is still held.
    people_per_address: int = setting(
        40, "STUDIO_PEOPLE_PER_ADDRESS: trainings queued or running, and summaries in flight, from one address",
        low=1, high=100_000)
    # On a Space with hf_oauth, only signed-in people may train: a script opening fresh sessions
    # then cannot multiply itself.
    require_login: bool = False
    # Hugging Face sign-in is offered where the Space enables it (hf_oauth: true sets OAUTH_CLIENT_ID).
    sign_in: bool = False
    # Switching the base model changes the studio for everyone: an operator's choice, off by default.
    allow_base_switch: bool = False
    # 0 trusts no header and takes the connection's address.
    proxy_hops: int = setting(0, "STUDIO_PROXY_HOPS: proxies in front of the app that append to X-Forwarded-For "
                                 "(Spaces: 1)", low=0, high=100)
    # Empty: a generated one kept in the runs folder (studio/service/owner_tokens.py).
    secret: str = setting("", "STUDIO_SECRET: signs owner tokens", cli=False)
    # Whether the operator configured a Hub token (HF_TOKEN): only then does the UI offer to push.
    # The token itself is never kept here; hub.py reads it when a push needs it.
    hub_token_configured: bool = False
    # Demo-ready after a restart (a Space's disk is wiped unless /data is mounted): runs pulled from the
    # Hub at start (STUDIO_PRELOAD_RUNS=owner/a,owner/b), and the default three trained where a method
    # has no completed run (STUDIO_PREPARE=1); both in the background, so the app serves at once.
    preload_runs: tuple[str, ...] = ()
    prepare: bool = False
    # "queue": trainings run in the background queue (jobs.py). "zerogpu": the Train event itself trains
    # inside zerogpu.train_on_gpu, yielding loss points, and generation goes through zerogpu's functions,
    # as ZeroGPU requires (GPU work only inside a @spaces.GPU call). Automatic where SPACES_ZERO_GPU is set.
    execution: str = "queue"
    # Trainings at once (studio/service/workers.py): 1 trains in the studio's process; N > 1 runs each in a
    # process of its own, one per GPU, or on a CPU with cores // N threads, as far as memory allows.
    training_workers: int = setting(1, "STUDIO_TRAINING_WORKERS: trainings that may run at once", low=1, high=256)
    # 0: 80% of the memory free at start; trainings whose estimates do not fit together wait.
    training_memory_gb: float = setting(
        0.0, "STUDIO_TRAINING_MEMORY_GB: CPU memory the running trainings may use together (0 = measured)",
        low=0, high=1_000_000)
    # A Ray cluster to train on ("local": a Ray instance on this machine); empty: local workers.
    ray_address: str = ""
    # No run holds the room (service/limits.py): the seconds of training one run may take, estimated before
    # Start from the step time measured on this machine. None: 180 s on a CPU Space (a 30-step quick
    # run of FLAN-T5-small takes about 1-2 min there), 900 s on a GPU Space, no ceiling elsewhere.
    max_run_seconds: float | None = setting(
        None, "STUDIO_MAX_RUN_SECONDS: seconds of training one run may take, estimated before Start (0 = none)",
        low=0, high=10**7)
    on_space: bool = False        # SPACE_ID is set: the defaults above are a shared Space's
    # Turns within long runs (jobs.py): while others wait, a run that has trained this long is
    # checkpointed and goes back in line, to resume exactly where it stopped. 0 turns it off.
    slice_seconds: float = setting(
        60.0, "STUDIO_SLICE_SECONDS: seconds of training a run takes in one turn while others wait (0 = no turns)",
        low=0, high=10**7)
    # The same turn counted in optimizer steps (0: by time only); for tests and slow hardware.
    slice_steps: int = setting(0, "STUDIO_SLICE_STEPS: optimizer steps a run takes in one turn while others "
                                  "wait (0 = by time only)", low=0, high=10**9)
    # The GPU time one ZeroGPU call may hold (studio/service/zerogpu.py), as the Space's plan allows:
    # `spaces` grants 60 s by default, PRO accounts longer; a request that needs more is refused up front.
    zerogpu_max_seconds: int = setting(
        120, "STUDIO_ZEROGPU_MAX_SECONDS: seconds of GPU time one ZeroGPU call may hold", low=1, high=10**6)

    @classmethod
    def from_env(cls, env: dict | None = None, **flags) -> Settings:
        """Environment first, then any non-None keyword flag on top."""
        env = os.environ if env is None else env
        values: dict = {}
        if env.get("STUDIO_BASE_MODEL"):
            values["base_model"] = env["STUDIO_BASE_MODEL"]
            values["base_model_explicit"] = True
        if env.get("STUDIO_DATA"):
            values["data"] = env["STUDIO_DATA"]
            values["data_explicit"] = True
        if env.get("STUDIO_RUNS_DIR"):
            values["runs_dir"] = Path(env["STUDIO_RUNS_DIR"])
        values["cache_dir"] = cache_dir_from(env)
        if hub_offline(env):
            values["offline"] = True
        if env.get("STUDIO_ALLOWED_MODELS"):
            values["allowed_base_models"] = tuple(
                m.strip() for m in env["STUDIO_ALLOWED_MODELS"].split(",") if m.strip())
        if env.get("STUDIO_PRECISION"):
            values["precision"] = env["STUDIO_PRECISION"]
        if env.get("STUDIO_PRESENTER", "").strip().lower() in ("1", "true", "yes", "on"):
            values["presenter"] = True
        values["hub_token_configured"] = bool(env.get("HF_TOKEN", "").strip())
        if env.get("STUDIO_PRELOAD_RUNS"):
            values["preload_runs"] = tuple(r.strip() for r in env["STUDIO_PRELOAD_RUNS"].split(",") if r.strip())
        if env.get("STUDIO_PREPARE", "").strip().lower() in ("1", "true", "yes", "on"):
            values["prepare"] = True
        values["sign_in"] = bool(env.get("OAUTH_CLIENT_ID", "").strip())
        for name, key in (("STUDIO_REQUIRE_LOGIN", "require_login"), ("STUDIO_ALLOW_BASE_SWITCH", "allow_base_switch")):
            if env.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
                values[key] = True
        if on_zerogpu(env):
            values["execution"] = "zerogpu"
        if env.get("STUDIO_EXECUTION"):
            values["execution"] = env["STUDIO_EXECUTION"].strip().lower()
        if values.get("execution", "queue") not in EXECUTION_MODES:
            raise ValueError(f"STUDIO_EXECUTION must be {' or '.join(EXECUTION_MODES)}, not {values['execution']!r}.")
        if env.get("STUDIO_RAY_ADDRESS", "").strip():
            values["ray_address"] = env["STUDIO_RAY_ADDRESS"].strip()
        if env.get("STUDIO_TORCH_THREADS"):
            values["torch_threads"] = int(env["STUDIO_TORCH_THREADS"])
        values.update(_fair_share_env(env))
        for key, value in flags.items():
            if value is None:
                continue
            if key in ("base_model", "data"):
                values[f"{key}_explicit"] = True
            if key in ("runs_dir", "cache_dir"):
                value = Path(value)
            values[key] = value
        settings = cls(**values)
        if not settings.allowed_base_models:
            settings.allowed_base_models = (settings.base_model,)
        return settings


FAIR_SHARE_ENV = {"STUDIO_MAX_STEPS_PER_RUN": "max_steps_per_run", "STUDIO_MAX_GENERATION_COST": "max_generation_cost",
                  "STUDIO_MAX_GENERATIONS_PER_CLIENT": "max_generations_per_client",
                  "STUDIO_MAX_TRAININGS_PER_CLIENT": "max_trainings_per_client", "STUDIO_PROXY_HOPS": "proxy_hops",
                  "STUDIO_PEOPLE_PER_ADDRESS": "people_per_address", "STUDIO_TRAINING_WORKERS": "training_workers",
                  "STUDIO_TRAINING_MEMORY_GB": "training_memory_gb", "STUDIO_MAX_RUN_SECONDS": "max_run_seconds",
                  "STUDIO_SLICE_SECONDS": "slice_seconds", "STUDIO_SLICE_STEPS": "slice_steps",
                  "STUDIO_ZEROGPU_MAX_SECONDS": "zerogpu_max_seconds"}


def _fair_share_env(env) -> dict:
    """The fair-sharing settings from the environment, each checked against its declaration."""
    values: dict = {}
    for name, key in FAIR_SHARE_ENV.items():
        raw = env.get(name, "").strip()
        if raw:
            values[key] = parse(Settings, key, raw, name=f"{name} setting")  # messages name the variable
    values["on_space"] = bool(env.get("SPACE_ID", "").strip())
    if "proxy_hops" not in values and env.get("SPACE_ID"):
        values["proxy_hops"] = 1   # on Hugging Face Spaces one proxy adds the visitor's address
    if env.get("STUDIO_SECRET"):
        values["secret"] = env["STUDIO_SECRET"]
    return values


def _form_high(cls, name: str):
    """The upper bound a setting is declared with: what the form itself allows."""
    return spec(cls, name).high


@dataclass
class TrainConfig:
    """What every method shares, so methods compare on equal terms."""
    # A budget a 2-core CPU finishes in about a minute with FLAN-T5-small.
    steps: int | None = setting(60, "optimizer steps", name="number of steps", label="Steps", low=1, high=5000,
                                group="budget")
    epochs: float | None = setting(None, "passes over the training subset (instead of steps)", above=0, high=20,
                                   group="budget")
    # Fits a CPU comfortably; larger helps little at this model size.
    batch_size: int = setting(8, "examples per step", low=1, high=64)
    # A subset keeps tokenization instant; None = the whole split.
    train_size: int | None = setting(1000, "dialogue-summary pairs drawn from the train split",
                                     name="training subset size", label="Training subset size", low=1,
                                     high=10_000_000, info="dialogue–summary pairs drawn from the train split")
    learning_rate: float | None = setting(None, "AdamW learning rate (default: the method's own)", above=0,
                                          high=10, flag="--learning-rate", aliases=("--lr",))
    seed: int = setting(42, "seed for the subset, the initialisation and the order", low=0, high=2**32 - 1)
    # T5's trained context; DialogSum dialogues are ~190 tokens on average.
    max_source_tokens: int = setting(512, "dialogue tokens kept (longer ones are cut)", low=16, high=2048)
    # DialogSum summaries are ~30 tokens; 128 leaves room.
    max_target_tokens: int = setting(128, "summary tokens kept", low=4, high=1024)
    # The base model's dropout during training (None = its own 0.1). Off by default: the studio's
    # runs see each example about once, so there is nothing to regularise, and drawing the random
    # masks costs a noticeable share of a CPU step (docs/benchmark.md).
    dropout: float | None = setting(0.0, "the base model's dropout while training", low=0, high=0.95)
    weight_decay: float = setting(0.0, "AdamW weight decay", low=0, high=1)
    # A validation loss every 15 steps shows overfitting as it happens. One check is a forward pass
    # over eval_size pairs (about 2 batches, under one training step's cost), so this stays near 5%
    # of training throughput; docs/benchmark.md has the measurement. 0 = off.
    eval_every: int = setting(15, "steps between validation-loss checks (0 = off)", name="validation interval",
                              label="Validation loss every (steps)", low=0, high=5000)
    # Enough pairs for a steady number, few enough to stay cheap; the same pairs for every run.
    eval_size: int = setting(16, "validation pairs the validation loss is measured on",
                             name="validation sample size", low=1, high=2000)
    # Stop when the validation loss has not improved for this many checks in a row (0 = never).
    early_stop_patience: int = setting(0, "checks without a better validation loss before stopping (0 = off)",
                                       name="early-stop patience", low=0, high=1000)
    # The studio keeps every run itself (events.jsonl); a tracker is for people who keep theirs elsewhere.
    # Each is an optional extra (pip install 'tuning-studio[tensorboard]'), offline by default.
    report_to: str = setting("none", "also log the run to a tracker, through the Trainer's own integration",
                             name="tracker", label="Report to", choices=TRACKERS,
                             info="TensorBoard files go in the run's folder; MLflow, Trackio and W&B stay local "
                                  "unless the operator configured them")

    # torch.compile for the training step; "auto" compiles only where this machine's measured profile
    # says the run's steps earn the compile back (train/compiling.py, docs/benchmark.md).
    compile: str = setting("auto", "compile the training step with torch.compile (auto: where measured to pay "
                           "here)", name="compile setting", label="Compile", choices=COMPILE_CHOICES)

    def validate(self) -> TrainConfig:
        if self.steps is None and self.epochs is None:
            raise ValueError("Give a number of steps or of epochs.")
        return validate_fields(self)


@dataclass
class GenerationSettings:
    # DialogSum summaries are ~30 tokens; 64 leaves room without waste.
    max_new_tokens: int = setting(64, "the longest summary, in tokens", name="max new tokens", low=1, high=256)
    # Greedy: fastest, and beams gain little ROUGE on DialogSum.
    num_beams: int = setting(1, "beam search width (1 = greedy, fastest)", name="number of beams", label="Beams",
                             low=1, high=8, aliases=("--beams",), info="1 = greedy, fastest")
    # Dialogues per generate() call, after sorting by length.
    batch_size: int = setting(16, "dialogues per generate() call", low=1, high=64)
    max_source_tokens: int = setting(512, "dialogue tokens kept (longer ones are cut)", low=16, high=2048)

    def validate(self) -> GenerationSettings:
        return validate_fields(self)


@dataclass
class EvaluationSettings:
    limit: int = setting(50, "how many dialogues of the split to score", name="number of dialogues",
                         label="Test dialogues", low=1, high=1500)

    def validate(self) -> EvaluationSettings:
        return validate_fields(self)


# Presets the UI offers, as set for FLAN-T5-small (presets_for() fits them to a bigger base).
PRESETS = {
    "quick": {"steps": 30, "batch_size": 8, "train_size": 400},
    "standard": {"steps": 150, "batch_size": 8, "train_size": 2000},
}
PRESET_REFERENCE_PARAMS = 76_961_152   # FLAN-T5-small's parameters, the model the presets were set on


def presets_for(total_params: int | None) -> dict[str, dict]:
    """The presets for a base model of `total_params` parameters.

    Steps and training subset stay; on a bigger base the batch shrinks in proportion to the
    parameters (at least 1), so one step costs and holds roughly what it does on FLAN-T5-small:
    FLAN-T5-base (248M) gets batch 2, FLAN-T5-large (783M) batch 1. A base no bigger than the
    small one, or of unknown size, gets the presets as written.
    """
    if not total_params or total_params <= PRESET_REFERENCE_PARAMS:
        return {name: dict(values) for name, values in PRESETS.items()}
    scale = PRESET_REFERENCE_PARAMS / total_params
    return {name: {**values, "batch_size": max(1, round(values["batch_size"] * scale))}
            for name, values in PRESETS.items()}


def to_jsonable(obj) -> dict:
    out = asdict(obj)
    return {k: (list(v) if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v)
            for k, v in out.items()}

