"""Where a run changed the model: each weight matrix's relative change, and one update's singular values.

    out = weight_change_run(store, run_id, base)          # base: the studio's BaseModelChoice
    out["changes_weights"]     # False for a soft prompt, None for a change this view does not read (then only
                               #   "message" says why), else True
    out["low_rank"]            # True where the update is LoRA's B A (out[method] then holds its settings)
    out["matrices"]            # [{name, part, layer, kind, shape, relative_change, update_norm, base_norm,
                               #   trainable}, ...] in the model's order
    out["rows"], out["columns"], out["grid"]   # the layers x matrices map: grid[row][col] is a
                               #   relative change, or None where that layer has no such matrix
    out["largest"]             # the matrix that changed most (relative to its own size)
    out["singular_values"]     # {"matrix", "values" (largest first), "numerical_rank", "rank_limit"}
    weight_change_run(store, run_id, base, matrix="decoder.block.0.layer.0.SelfAttention.q.weight")

The relative change of a matrix is ||W_tuned - W_base|| / ||W_base|| (Frobenius norms).
A full fine-tuning run's W_tuned is its own saved weight. A LoRA run leaves W_base in
place and adds B A * scaling beside it, with scaling = lora_alpha / r, or lora_alpha /
sqrt(r) with use_rslora (PEFT's LoraLayer.update_layer, alpha_pattern and rank_pattern
included); that product is the update, zero outside the target modules, and its rank is
at most r, so its singular values stop after r. Prompt tuning changes no weight at all.

Everything is read from safetensors (the base's files and the run's), one matrix at a
time, in float32 on the CPU; nothing is unpickled and no model is built. Which reader a
run gets follows from what its method saves (the registry): a whole model, a PEFT
adapter of a type read here (LoRA's), or a soft prompt, which changes no weight.
"""
from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from studio.config.settings import hub_offline
from studio.model.methods import registry

if TYPE_CHECKING:  # torch loads when a change is measured, so the UI's handlers can import this cheaply
    import torch

    from studio.store.records import RunRecord

NO_CHANGE = ("Prompt tuning changes no weight of the model: every matrix is exactly the base model's. What it "
             "learned is a few vectors placed before every dialogue; see \u201cWhat prompt tuning learned\u201d "
             "for what they read as.")
ADAPTER_CONFIG = "adapter_config.json"          # PEFT's own file names
ADAPTER_WEIGHTS = "adapter_model.safetensors"
MAX_ADAPTER_CONFIG_BYTES = 1 << 20              # a real one is about 1 kB
_PEFT_PREFIX = "base_model.model."

# T5's per-layer matrices: (module in the checkpoint, projection) -> the map's column, in this order.
_MODULES = {"SelfAttention": "self-attn", "EncDecAttention": "cross-attn", "DenseReluDense": "feed-forward"}
_PROJECTIONS = ("q", "k", "v", "o", "wi", "wi_0", "wi_1", "wo")
_LAYER_MATRIX = re.compile(r"^(encoder|decoder)\.block\.(\d+)\.layer\.\d+\.(" + "|".join(_MODULES) + r")\.("
                           + "|".join(_PROJECTIONS) + r")\.weight$")
_LORA_KEY = re.compile(r"^(.+)\.(lora_A|lora_B)(?:\.weight)?$|^(.+)\.(lora_embedding_A|lora_embedding_B)$")
# The PEFT adapter types whose update this module can read, beside whole models (peft_type None).
LOW_RANK_ADAPTER = "LORA"
READABLE_ADAPTERS = (None, LOW_RANK_ADAPTER)


def not_read_note(method) -> str:
    """What the view says for a run whose change it cannot read (a registry Method's adapter type)."""
    return (f"{method.label} changes the model in a way this view does not read yet: it reads the weights of a "
            "fully fine-tuned model and LoRA's B A. Its runs summarize and score like any other.")


def place(name: str) -> tuple[str, int | None, str]:
    """(part, layer, column) of a weight's name: ("decoder", 0, "cross-attn q"); ("other", None, name) else."""
    match = _LAYER_MATRIX.match(name)
    if not match:
        return "other", None, name.removesuffix(".weight")
    part, layer, module, projection = match.groups()
    return part, int(layer), f"{_MODULES[module]} {projection}"


def _column_order(column: str) -> tuple[int, int]:
    module, projection = column.split(" ")
    return list(_MODULES.values()).index(module), _PROJECTIONS.index(projection)


def base_weight_files(path: str, offline: bool | None = None) -> list[Path]:
    """The safetensors files of a base model: a folder's own, or a hub id's (from the cache when offline)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        if offline is None:
            offline = hub_offline()
        # Only the weights: the same files from_pretrained(use_safetensors=True) reads, no pickles.
        folder = Path(snapshot_download(path, allow_patterns=["*.safetensors"], local_files_only=offline))
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ValueError(f"The base model {path} has no safetensors weights to compare with.")
    return files


class _Tensors:
    """Named tensors spread over safetensors files, read one at a time (the header says where each is)."""

    def __init__(self, files: list[Path], stack: contextlib.ExitStack):
        from safetensors import safe_open

        self._where = {}
        for file in files:
            handle = stack.enter_context(safe_open(str(file), framework="pt"))
            for name in handle.keys():
                self._where.setdefault(name, handle)

    def names(self) -> list[str]:
        return list(self._where)

    def __contains__(self, name: str) -> bool:
        return name in self._where

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._where[name].get_slice(name).get_shape())

    def get(self, name: str) -> torch.Tensor:
        return self._where[name].get_tensor(name).float()


def _read_json(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_ADAPTER_CONFIG_BYTES + 1)
        if len(raw) > MAX_ADAPTER_CONFIG_BYTES:
            raise ValueError(f"The run's {path.name} is over {MAX_ADAPTER_CONFIG_BYTES:,} bytes.")
        values = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ValueError(f"The run has no {path.name}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"The run's {path.name} cannot be read ({type(exc).__name__}).") from None
    if not isinstance(values, dict):
        raise ValueError(f"The run's {path.name} is not a JSON object.")
    return values


def _pattern_value(patterns: dict, module: str, default):
    """PEFT's alpha_pattern lookup (peft.utils.other.get_pattern_key): the first pattern that ends the name."""
    for key, value in (patterns or {}).items():
        try:
            if re.match(rf"(.*\.)?({key})$", module):
                return value
        except re.error:
            raise ValueError(f"The adapter's pattern {str(key)[:40]!r} is not a regular expression.") from None
    return default


def _positive_number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"The adapter's {what} must be a positive number, not {str(value)[:40]!r}.")
    return float(value)


class Updates:
    """How one run changed the base model, matrix by matrix; open it with `updates(...)`.

    `names` lists the base's weight matrices (2-D tensors) in the model's order; `update(name)`
    is W_tuned - W_base for that matrix, read when asked.
    """

    def __init__(self, whole: bool, base: _Tensors):
        self.whole = whole                  # a whole model's weights, else a LoRA adapter's factors
        self.base = base
        self.names = [n for n in base.names() if len(base.shape(n)) == 2]
        self.lora: dict | None = None       # LoRA only: the adapter's settings
        self._tuned: _Tensors | None = None        # full only: the run's weights
        self._factors: dict[str, tuple] = {}       # LoRA only: matrix -> (A, B, scaling, embedding)

    def trainable(self, name: str) -> bool:
        """Whether the method could change this matrix at all (a LoRA adapter only its targets)."""
        return self.whole or name in self._factors

    def rank_limit(self, name: str) -> int | None:
        """The most the update's rank can be by construction (LoRA's r), or None where it is unbounded."""
        if self.lora is None:
            return None
        return int(self._factors[name][0].shape[0]) if name in self._factors else 0

    def update(self, name: str, base: torch.Tensor | None = None) -> torch.Tensor:
        """W_tuned - W_base of one matrix; `base` is its base tensor when the caller has read it already."""
        import torch

        if self.whole:
            return self._tuned.get(name) - (self.base.get(name) if base is None else base)
        if name not in self._factors:
            return torch.zeros(self.base.shape(name))
        a, b, scaling, embedding = self._factors[name]
        delta = (b @ a) * scaling
        # PEFT's Embedding keeps A as (r, rows) and B as (cols, r), and transposes the product;
        # fan_in_fan_out layers store their weight transposed.
        return delta.T if embedding or self.lora["fan_in_fan_out"] else delta

    # ------------------------------------------------------------------ reading a run
    def _read_full(self, folder: Path, stack: contextlib.ExitStack) -> None:
        files = sorted(folder.glob("*.safetensors"))
        if not files:
            raise ValueError("The run has no safetensors weights.")
        self._tuned = _Tensors(files, stack)
        missing = [n for n in self.names if n not in self._tuned]
        # Tied copies (an embedding saved once) may be left out of a checkpoint; a layer's matrix may not.
        if any(place(n)[1] is not None for n in missing) or len(missing) == len(self.names):
            raise ValueError(f"The run's weights do not match the base model (it has no {missing[0]}); "
                             "was it trained on another base model?")
        self.names = [n for n in self.names if n in self._tuned]
        for name in self.names:
            if self._tuned.shape(name) != self.base.shape(name):
                raise ValueError(f"{name} is {self._tuned.shape(name)} in the run but {self.base.shape(name)} in "
                                 "the base model; was it trained on another base model?")

    def _read_lora(self, folder: Path) -> None:
        from safetensors.torch import load_file

        config = _read_json(folder / ADAPTER_CONFIG)
        if config.get("peft_type") != LOW_RANK_ADAPTER:
            raise ValueError(f"The run's adapter is {str(config.get('peft_type'))[:40]}, not LoRA.")
        if config.get("use_dora") or config.get("lora_bias"):
            # Both add more than B A (a magnitude vector, a bias): the update would not be what is shown.
            raise ValueError("This adapter uses DoRA or a LoRA bias; the weight-change view reads plain LoRA only.")
        alpha = _positive_number(config.get("lora_alpha"), "lora_alpha")
        if not all(isinstance(config.get(k) or {}, dict) for k in ("rank_pattern", "alpha_pattern")):
            raise ValueError("The adapter's rank_pattern and alpha_pattern must be JSON objects.")
        use_rslora = bool(config.get("use_rslora"))
        self.lora = {"r": config.get("r"), "lora_alpha": config.get("lora_alpha"), "use_rslora": use_rslora,
                     "fan_in_fan_out": bool(config.get("fan_in_fan_out")),
                     "target_modules": config.get("target_modules"),
                     "rank_pattern": config.get("rank_pattern") or {},
                     "alpha_pattern": config.get("alpha_pattern") or {}}
        weights = load_file(str(folder / ADAPTER_WEIGHTS))   # small: only A and B of each target
        pairs: dict[str, dict] = {}
        for key, tensor in weights.items():
            match = _LORA_KEY.match(key)
            if not match:
                raise ValueError(f"The adapter holds {key[:80]}, which is not a LoRA factor; the weight-change "
                                 "view reads plain LoRA only.")
            module = (match.group(1) or match.group(3)).removeprefix(_PEFT_PREFIX)
            factor = match.group(2) or match.group(4)
            pairs.setdefault(module, {})[factor[-1]] = tensor.float()
            pairs[module]["embedding"] = factor.startswith("lora_embedding")
        for module, pair in pairs.items():
            name = f"{module}.weight"
            if "A" not in pair or "B" not in pair:
                raise ValueError(f"The adapter has only half of the LoRA pair of {module}.")
            if name not in self.base or name not in self.names:
                raise ValueError(f"The adapter changes {module}, which the base model does not have; was it "
                                 "trained on another base model?")
            r = int(pair["A"].shape[0])
            module_alpha = _positive_number(_pattern_value(self.lora["alpha_pattern"], module, alpha), "lora_alpha")
            scaling = module_alpha / math.sqrt(r) if use_rslora else module_alpha / r
            self._factors[name] = (pair["A"], pair["B"], scaling, pair["embedding"])
            if tuple(self.update(name).shape) != self.base.shape(name):
                raise ValueError(f"The adapter's update of {module} does not fit the base model's matrix; was "
                                 "it trained on another base model?")
        if not self._factors:
            raise ValueError("The adapter holds no LoRA weights.")
        scalings = sorted({round(s, 12) for _, _, s, _ in self._factors.values()})
        self.lora["scaling"] = scalings[0] if len(scalings) == 1 else scalings


@contextlib.contextmanager
def updates(base_files: list[Path], run_folder: Path, method: str):
    """An open Updates of a whole-model or LoRA run's model folder against the base model's safetensors files."""
    found_method = registry.find(method)
    if found_method is None or found_method.soft_prompt:
        raise ValueError(f"A {str(method)[:40]} run changes no weight matrix.")
    if found_method.peft_type not in READABLE_ADAPTERS:
        raise ValueError(not_read_note(found_method))
    with contextlib.ExitStack() as stack:
        found = Updates(found_method.whole_model, _Tensors(base_files, stack))
        if found.whole:
            found._read_full(Path(run_folder), stack)
        else:
            found._read_lora(Path(run_folder))
        yield found


def _norm(tensor) -> float:
    import torch

    return float(torch.linalg.matrix_norm(tensor, ord="fro"))


def change_map(source: Updates) -> dict:
    """Every matrix's relative change, and the layers x matrices grid of the per-layer ones."""
    matrices = []
    for name in source.names:   # one matrix (base and update) in memory at a time
        base = source.base.get(name)
        base_norm = _norm(base)
        update_norm = _norm(source.update(name, base)) if source.trainable(name) else 0.0
        del base   # before the next matrix is read
        part, layer, kind = place(name)
        matrices.append({"name": name, "part": part, "layer": layer, "kind": kind,
                         "shape": list(source.base.shape(name)),
                         "relative_change": update_norm / base_norm if base_norm > 0 else None,
                         "update_norm": update_norm, "base_norm": base_norm, "trainable": source.trainable(name)})
    in_layers = [m for m in matrices if m["layer"] is not None]
    rows = sorted({(m["part"] != "encoder", m["layer"]) for m in in_layers})
    columns = sorted({m["kind"] for m in in_layers}, key=_column_order)
    grid = [[None] * len(columns) for _ in rows]
    for m in in_layers:
        grid[rows.index((m["part"] != "encoder", m["layer"]))][columns.index(m["kind"])] = m["relative_change"]
    ranked = [m for m in matrices if m["relative_change"] is not None]
    largest = max(ranked, key=lambda m: m["relative_change"])["name"] if ranked else None
    return {"matrices": matrices, "rows": [f"{'decoder' if dec else 'encoder'} {layer + 1}" for dec, layer in rows],
            "columns": columns, "grid": grid, "largest": largest}


def singular_values(source: Updates, name: str) -> dict:
    """The singular values of one matrix's update, largest first, and how many stand clear of round-off."""
    import torch

    if name not in source.names:
        raise ValueError(f"There is no weight matrix {str(name)[:120]!r} in this model.")
    delta = source.update(name)
    values = torch.linalg.svdvals(delta)
    # numpy's and torch's matrix_rank default: below this a value is float32 round-off, not signal.
    tolerance = float(values.max()) * max(delta.shape) * torch.finfo(torch.float32).eps if values.numel() else 0.0
    return {"matrix": name, "shape": list(delta.shape), "values": [float(v) for v in values],
            "numerical_rank": int((values > tolerance).sum()) if tolerance > 0 else 0,
            "tolerance": tolerance, "rank_limit": source.rank_limit(name)}


def check_same_base(record: RunRecord, base) -> None:
    """A run measured against a base it was not trained on would show that difference, not training's."""
    if not record.trained_on(base.path, base.name):
        raise ValueError(f"Run {record.run_id} was trained on {record.base_model}, but the studio now runs "
                         f"{base.name}; its change cannot be measured against it.")


def weight_change_run(store, run_id: str, base, matrix: str | None = None, offline: bool | None = None) -> dict:
    """The `weight-change --json` object of a run in the studio's RunStore; `matrix` defaults to the largest change."""
    record = store.require_loadable(run_id)
    method = record.method
    out = {"run_id": run_id, "method": method, "base_model": base.name}
    if _soft_prompt(method):
        return {**out, "changes_weights": False, "message": NO_CHANGE}
    found = registry.find(method)
    if found is not None and found.peft_type not in READABLE_ADAPTERS:
        return {**out, "changes_weights": None, "message": not_read_note(found)}
    check_same_base(record, base)
    with updates(base_weight_files(base.path, offline), store.model_dir(run_id), method) as source:
        found = change_map(source)
        chosen = matrix or found["largest"] or source.names[0]
        out.update(changes_weights=True, low_rank=source.lora is not None, **found,
                   singular_values=singular_values(source, chosen))
        if source.lora is not None:  # the adapter's settings, under its method's name
            out[method] = {k: v for k, v in source.lora.items() if k != "fan_in_fan_out"}
    return out


def _soft_prompt(method_name) -> bool:
    method = registry.find(method_name)
    return method is not None and method.soft_prompt


def singular_values_run(store, run_id: str, base, matrix: str, offline: bool | None = None) -> dict:
    """Only the singular values of one matrix's update (a new pick in the view: the map is already shown)."""
    record = store.require_loadable(run_id)
    if _soft_prompt(record.method):
        raise ValueError(NO_CHANGE)
    check_same_base(record, base)
    with updates(base_weight_files(base.path, offline), store.model_dir(run_id), record.method) as source:
        return singular_values(source, matrix)
