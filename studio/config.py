"""Settings and hyperparameters: the one place that reads the environment.

    settings = Settings.from_env()                       # environment only
    settings = Settings.from_env(base_model="./my-t5")   # a CLI flag beats the environment
    cfg = TrainConfig(steps=30); lora = LoraSettings(r=8)

Each method has its own dataclass because their good defaults differ a lot
(prompt tuning wants a learning rate ~300x LoRA's).
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

DEFAULT_BASE_MODEL = "google/flan-t5-small"
DEFAULT_DATA = "knkarthick/dialogsum"
METHODS = ("full", "lora", "prompt")
METHOD_LABELS = {"full": "Full fine-tuning", "lora": "LoRA", "prompt": "Prompt tuning"}

# Server-side limits: whatever a client sends, nothing bigger than this runs.
MAX_STEPS = 5000
MAX_EPOCHS = 20
MAX_BATCH_SIZE = 64
MAX_NEW_TOKENS = 256
MAX_DIALOGUE_CHARS = 20_000
MAX_EVAL_EXAMPLES = 1500
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def _default_runs_dir(data: Path = Path("/data")) -> Path:
    # Hugging Face Spaces with persistent storage mount it at /data; runs kept
    # there survive a restart of the Space.
    if data.is_dir() and os.access(data, os.W_OK):
        return data / "runs"
    return Path("runs")


def _default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tuning-studio"


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
    # Fair sharing between the people of one studio (docs/reliability.md, "Sharing fairly").
    max_steps_per_run: int = MAX_STEPS                      # STUDIO_MAX_STEPS_PER_RUN: one training's budget
    # STUDIO_MAX_GENERATION_COST: beams x new tokens x dialogue characters one summary may ask for.
    max_generation_cost: int = 8 * MAX_NEW_TOKENS * MAX_DIALOGUE_CHARS
    max_generations_per_client: int = 4                     # STUDIO_MAX_GENERATIONS_PER_CLIENT, waiting or running
    max_trainings_per_client: int = 3                       # STUDIO_MAX_TRAININGS_PER_CLIENT, queued or running
    # STUDIO_PROXY_HOPS: proxies in front of the app that append to X-Forwarded-For (Spaces: 1);
    # 0 trusts no header and takes the connection's address.
    proxy_hops: int = 0
    secret: str = ""        # STUDIO_SECRET: signs owner tokens; empty: a generated one kept in the runs folder

    @classmethod
    def from_env(cls, env: dict | None = None, **flags) -> "Settings":
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
        if env.get("STUDIO_CACHE_DIR"):
            values["cache_dir"] = Path(env["STUDIO_CACHE_DIR"])
        if env.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
            values["offline"] = True
        if env.get("STUDIO_ALLOWED_MODELS"):
            values["allowed_base_models"] = tuple(
                m.strip() for m in env["STUDIO_ALLOWED_MODELS"].split(",") if m.strip())
        if env.get("STUDIO_PRECISION"):
            values["precision"] = env["STUDIO_PRECISION"]
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
                  "STUDIO_MAX_TRAININGS_PER_CLIENT": "max_trainings_per_client", "STUDIO_PROXY_HOPS": "proxy_hops"}


def _fair_share_env(env) -> dict:
    """The fair-sharing settings from the environment, each a whole number (proxy hops may be 0)."""
    values: dict = {}
    for name, key in FAIR_SHARE_ENV.items():
        raw = env.get(name, "").strip()
        if not raw:
            continue
        lowest = 0 if key == "proxy_hops" else 1
        if not raw.isdigit() or int(raw) < lowest:
            raise ValueError(f"{name} must be a whole number of at least {lowest}, not {raw!r}.")
        values[key] = int(raw)
    if "proxy_hops" not in values and env.get("SPACE_ID"):
        values["proxy_hops"] = 1   # on Hugging Face Spaces one proxy adds the visitor's address
    if env.get("STUDIO_SECRET"):
        values["secret"] = env["STUDIO_SECRET"]
    return values


@dataclass
class TrainConfig:
    """What every method shares, so methods compare on equal terms."""
    steps: int | None = 60           # a budget a 2-core CPU finishes in about a minute with FLAN-T5-small
    epochs: float | None = None      # used only when steps is None
    batch_size: int = 8              # fits a CPU comfortably; larger helps little at this model size
    train_size: int | None = 1000    # a subset keeps tokenization instant; None = whole split
    learning_rate: float | None = None  # None = the method's own default below
    seed: int = 42
    max_source_tokens: int = 512     # T5's trained context; DialogSum dialogues are ~190 tokens on average
    max_target_tokens: int = 128     # DialogSum summaries are ~30 tokens; 128 leaves room
    # The base model's dropout during training (None = its own 0.1). Off by default: the
    # studio's runs see each example about once, so there is nothing to regularise, and on a
    # CPU drawing the random masks takes about a fifth of a bf16 step (docs/benchmark.md).
    dropout: float | None = 0.0
    weight_decay: float = 0.0

    def validate(self) -> "TrainConfig":
        if self.steps is None and self.epochs is None:
            raise ValueError("Give a number of steps or of epochs.")
        if self.steps is not None:
            _check_int("steps", self.steps, 1, MAX_STEPS)
        elif not _finite(self.epochs) or not 0 < self.epochs <= MAX_EPOCHS:
            raise ValueError(f"Epochs must be a number above 0 and at most {MAX_EPOCHS}.")
        _check_int("batch size", self.batch_size, 1, MAX_BATCH_SIZE)
        if self.train_size is not None:
            _check_int("training-subset size", self.train_size, 1, 10_000_000)
        if self.learning_rate is not None and (
                not _finite(self.learning_rate) or not 0 < self.learning_rate <= 10):
            raise ValueError("Learning rate must be a number above 0 and at most 10.")
        _check_int("seed", self.seed, 0, 2**32 - 1)
        if self.dropout is not None and (not _finite(self.dropout) or not 0 <= self.dropout < 1):
            raise ValueError("Dropout must be at least 0 and below 1.")
        return self


@dataclass
class FullSettings:
    # Full fine-tuning moves every weight; 3e-4 is a robust AdamW rate for T5-small
    # on short runs (1e-3 is unstable, 5e-5 barely moves in 60 steps).
    learning_rate: float = 3e-4


@dataclass
class LoraSettings:
    r: int = 16                      # rank; 16 on q,v trains 0.89% of FLAN-T5-small
    alpha: int = 32                  # alpha/r = 2 scales the update as in the LoRA paper's T5 runs
    dropout: float = 0.05            # light regularisation; the runs are short
    target_modules: tuple[str, ...] = ("q", "v")  # T5's attention query and value projections
    learning_rate: float = 1e-3      # LoRA tolerates ~3x the full-tuning rate

    def validate(self) -> "LoraSettings":
        _check_int("LoRA rank", self.r, 1, 512)
        _check_int("LoRA alpha", self.alpha, 1, 4096)
        if not _finite(self.dropout) or not 0 <= self.dropout < 1:
            raise ValueError("LoRA dropout must be at least 0 and below 1.")
        if not self.target_modules:
            raise ValueError("LoRA needs at least one target module.")
        for name in self.target_modules:  # module names only: PEFT reads other strings as patterns
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,63}", name):
                raise ValueError(f"{str(name)[:40]!r} is not a LoRA target module name (e.g. q, v, wi_0).")
        return self


PROMPT_INIT_TEXT = "Summarize the following conversation between two people in one or two sentences."


@dataclass
class PromptSettings:
    num_virtual_tokens: int = 20     # 20 x 512 = 10,240 trainable values on FLAN-T5-small
    init: str = "text"               # "text" starts from a real instruction's embeddings: learns far faster than random
    init_text: str = PROMPT_INIT_TEXT
    learning_rate: float = 0.3       # soft prompts need a very high rate (Lester et al. used 0.3)

    def validate(self) -> "PromptSettings":
        _check_int("number of virtual tokens", self.num_virtual_tokens, 1, 200)
        if self.init not in ("text", "random"):
            raise ValueError("Prompt initialisation must be 'text' or 'random'.")
        if self.init == "text" and not self.init_text.strip():
            raise ValueError("Prompt initialisation text is empty.")
        return self


METHOD_SETTINGS = {"full": FullSettings, "lora": LoraSettings, "prompt": PromptSettings}


def method_settings(method: str, overrides: dict | None = None):
    """The method's settings dataclass with any known override applied."""
    if method not in METHOD_SETTINGS:
        raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(METHODS)}.")
    cls = METHOD_SETTINGS[method]
    known = {f.name for f in fields(cls)}
    clean = {k: v for k, v in (overrides or {}).items() if k in known and v is not None}
    if "target_modules" in clean and isinstance(clean["target_modules"], str):
        clean["target_modules"] = tuple(m.strip() for m in clean["target_modules"].split(",") if m.strip())
    if "target_modules" in clean:
        clean["target_modules"] = tuple(clean["target_modules"])
    obj = cls(**clean)
    return obj.validate() if hasattr(obj, "validate") else obj


# Presets the UI offers: "quick" finishes in well under a minute on a CPU.
PRESETS = {
    "quick": {"steps": 30, "batch_size": 8, "train_size": 400},
    "standard": {"steps": 150, "batch_size": 8, "train_size": 2000},
}


def to_jsonable(obj) -> dict:
    out = asdict(obj)
    return {k: (list(v) if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v)
            for k, v in out.items()}


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or int(value) != value:
        raise ValueError(f"The {name} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"The {name} must be between {low} and {high}, not {value}.")
