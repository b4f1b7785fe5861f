"""What the tabs do, as plain Python: typed values in, text, tables and figures out.

    cfg, overrides = train_request(TrainForm(method="lora", steps=30))
    view = job_view(studio, studio.jobs.get(job_id))         # the Train tab's status lines
    columns = compare(studio, dialogue, {"full": None, "lora": run_id, "prompt": None}, gen)
    table = runs_table(studio.store.list())

Nothing here imports gradio, so every rule a user meets (the queue message, a
missing method's hint, the number checks) is tested without a browser. Handlers
raise ValueError, PermissionError, RunNotFound or QueueFull with a message a
user can act on; the tab modules turn those into on-screen warnings.
"""
from __future__ import annotations

import html
import math
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import MAX_EVAL_EXAMPLES, MAX_NEW_TOKENS, METHOD_LABELS, METHODS, PRESETS, TrainConfig, method_settings
from ..data import DialogData, Example, browse, length_table
from ..engine import ORIGINAL, GenerationSettings
from ..evaluation import rouge_table
from ..plots import efficiency_figure, length_figure, loss_figure, rouge_figure, topic_figure
from ..runs import RUN_ID_PATTERN, RunNotFound

NONE = "none"                 # the run-dropdown value meaning "no run for this method"
ALL_TOPICS = "All topics"
PAGE_SIZE = 5                 # dialogues per Dataset page: long texts, so few at a time
COLUMNS = (ORIGINAL, *METHODS)
MISSING_HINT = "No {label} run yet. Train one in the Train tab, or run `python -m studio prepare`."

METHOD_HELP = {
    "full": "**Full fine-tuning** updates every weight of the model. It can learn the most, but each run "
            "stores a complete copy of the model and needs the most memory while training.",
    "lora": "**LoRA** freezes the model and learns small low-rank matrices added to the attention "
            "projections (under 1% of the weights). Runs are tiny on disk and train nearly as well.",
    "prompt": "**Prompt tuning** freezes the whole model and learns only a few *virtual tokens* placed "
              "before the input. It trains the fewest values and needs a much higher learning rate.",
}
LORA_TARGETS = ("q", "k", "v", "o", "wi_0", "wi_1", "wo")  # T5's attention and feed-forward projections


# ------------------------------------------------------------------ numbers and formatting

# Events reach the handlers unprocessed (preprocess=False in the tabs): whatever a script
# sends, these functions are what checks it, with one message per problem.

def shown(value, limit: int = 40) -> str:
    """A value quoted in a message, cut short: messages may quote a megabyte a client sent."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _as_number(name: str, value) -> float:
    """Numbers and numeric text as a float; anything else (bools, lists, words) is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"The {name} must be a number, not {shown(value)}.")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"The {name} must be a number, not {shown(value)}.") from None


def whole(name: str, value, low: int, high: int) -> int:
    """A form value as an int, or a ValueError saying what is wrong with it."""
    if value is None or value == "":
        raise ValueError(f"Fill in the {name}.")
    number = _as_number(name, value)
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"The {name} must be a whole number, not {shown(value)}.")
    if not low <= number <= high:
        raise ValueError(f"The {name} must be between {low:,} and {high:,}, not {shown(value)}.")
    return int(number)


def fraction(name: str, value, low: float, high: float, blank=None):
    """A form value as a float in [low, high]; blank (None or "") gives `blank`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return blank
    number = _as_number(name, value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"The {name} must be a number from {low:g} to {high:g}, not {shown(value)}.")
    return number


def one_of(name: str, value, options) -> str:
    """A value that must be one of `options` (a radio button's or dropdown's values)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"The {name} must be one of {', '.join(options)}, not {shown(value)}.")
    return value


def some_of(name: str, values, options) -> list[str]:
    """Values that must all be among `options` (a checkbox group's)."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"The {name} must be a list of names from {', '.join(options)}.")
    unknown = [v for v in values if v not in options]
    if unknown:
        raise ValueError(f"Unknown {name}: {shown(unknown[0])}; choose from {', '.join(options)}.")
    return list(dict.fromkeys(values))


def text(name: str, value, limit: int) -> str:
    """Free text from a box: None counts as empty; anything not text, or too long, is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"The {name} must be text, not {shown(value)}.")
    if len(value) > limit:
        raise ValueError(f"The {name} has {len(value):,} characters; the limit is {limit:,}.")
    return value


def plain(text) -> str:
    """User-supplied text (run names, topics, errors) made inert inside Markdown."""
    text = html.escape(str(text), quote=False)
    return re.sub(r"([\\`*_{}\[\]()#|~])", r"\\\1", text)  # inline markup only: names sit mid-line


def fmt_seconds(seconds) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def fmt_bytes(size) -> str:
    if not size:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def fmt_params(trainable, share=None) -> str:
    if not trainable:
        return ""
    text = f"{int(trainable):,}"
    return f"{text} ({100 * share:.2f}%)" if share is not None else text


def fmt_score(value) -> str:
    return "" if value is None or not math.isfinite(value) else f"{100 * value:.1f}"


def run_label(record: dict) -> str:
    """How a run reads in a dropdown: its name, size of training, and ROUGE-L when known."""
    name = record.get("name") or record["run_id"]
    bits = [f"{record['steps']} steps"] if record.get("steps") else []
    rouge_l = (record.get("metrics") or {}).get("rougeL")
    if rouge_l is not None:
        bits.append(f"ROUGE-L {fmt_score(rouge_l)}")
    if record.get("status") == "stopped":
        bits.append("stopped early")
    return f"{name} ({', '.join(bits)})" if bits else name


# ------------------------------------------------------------------ Train tab

@dataclass
class TrainForm:
    """Every field of the Train tab, as the widgets hand them over (numbers may be floats or None)."""
    method: str = "lora"
    steps: float | None = PRESETS["quick"]["steps"]
    batch_size: float | None = PRESETS["quick"]["batch_size"]
    train_size: float | None = PRESETS["quick"]["train_size"]
    learning_rate: float | None = None
    seed: float | None = 42
    name: str = ""
    lora_r: float | None = 16
    lora_alpha: float | None = 32
    lora_dropout: float | None = 0.05
    lora_targets: list[str] | tuple[str, ...] = ("q", "v")
    prompt_tokens: float | None = 20
    prompt_init: str = "text"
    prompt_init_text: str = ""


def preset_values(name: str) -> dict:
    """steps / batch_size / train_size for a preset the Train tab offers."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}: choose {' or '.join(PRESETS)}.")
    return dict(PRESETS[name])


def default_learning_rate(method: str) -> float:
    return method_settings(method).learning_rate


def learning_rate_hint(method: str) -> str:
    return f"Blank = the {METHOD_LABELS[method]} default, {default_learning_rate(method):g}"


def train_request(form: TrainForm) -> tuple[TrainConfig, dict]:
    """Check the form and turn it into the engine's TrainConfig plus method overrides."""
    if not isinstance(form.method, str) or form.method not in METHODS:
        raise ValueError(f"Choose a method: {', '.join(METHOD_LABELS.values())} "
                         f"({', '.join(METHODS)}), not {shown(form.method)}.")
    cfg = TrainConfig(
        steps=whole("number of steps", form.steps, 1, 5000),
        batch_size=whole("batch size", form.batch_size, 1, 64),
        train_size=whole("training subset size", form.train_size, 1, 10_000_000),
        learning_rate=fraction("learning rate", form.learning_rate, 1e-7, 10.0),
        seed=whole("seed", form.seed, 0, 2**32 - 1),
    )
    cfg.validate()
    overrides: dict = {}
    if form.method == "lora":
        targets = some_of("LoRA target modules", form.lora_targets, LORA_TARGETS)
        if not targets:
            raise ValueError("Tick at least one LoRA target module (q and v are the usual choice).")
        overrides = {"r": whole("LoRA rank", form.lora_r, 1, 512),
                     "alpha": whole("LoRA alpha", form.lora_alpha, 1, 4096),
                     "dropout": fraction("LoRA dropout", form.lora_dropout, 0.0, 0.95, blank=0.0),
                     "target_modules": tuple(targets)}
    elif form.method == "prompt":
        overrides = {"num_virtual_tokens": whole("number of virtual tokens", form.prompt_tokens, 1, 200),
                     "init": one_of("prompt start", form.prompt_init or "text", ("text", "random"))}
        init_text = text("initial prompt text", form.prompt_init_text, 500).strip()
        if init_text:
            overrides["init_text"] = init_text
    method_settings(form.method, overrides)  # raises now, not in the background worker
    return cfg, overrides


def start_training(studio, owner: str, form: TrainForm):
    """Queue a training job for this session; returns the Job."""
    if not owner:
        raise ValueError("The page has not finished loading; try again in a moment.")
    cfg, overrides = train_request(form)
    name = text("run name", form.name, 1000)  # longer names are cut to 80 characters, not refused
    # One at a time per session: the tab follows one job, and a double click must not queue two.
    return studio.submit_training(form.method, cfg, overrides, owner=owner, name=name, max_active=1)


def stop_training(studio, job_id: str | None, owner: str) -> str:
    """Ask the worker to stop this session's job; the message says what happens next."""
    job = studio.jobs.get(job_id) if job_id else None
    if job is None:
        raise ValueError("There is no training of yours to stop.")
    if job.status not in ("queued", "running"):
        raise ValueError("That training has already ended.")
    if not studio.jobs.stop(job_id, owner):
        raise PermissionError("Only the session that started this training can stop it.")
    if job.status == "stopped":
        return "Cancelled before it started."
    return "Stopping after the current step; the model so far will be saved."


def active_job_id(studio, owner: str) -> str | None:
    """This session's newest queued or running job, to re-attach to after a page reload."""
    mine = [j for j in studio.jobs.jobs_of(owner) if j.status in ("queued", "running")] if owner else []
    return max(mine, key=lambda j: j.submitted_at).job_id if mine else None


@dataclass
class JobView:
    status: str          # one headline: queued / running / finished / stopped / failed
    progress: str        # steps, time left, speed
    params: str          # trainable parameters and share
    ended: bool
    steps_seen: int      # how many loss points the plot holds (skip redrawing when unchanged)


def job_view(studio, job, now: float | None = None) -> JobView:
    if job is None:
        return JobView("No training started in this session yet.", "", "", True, 0)
    now = now or time.time()
    events = list(job.events)  # the worker appends while we read
    steps = [e for e in events if e.get("type") == "step"]
    last = steps[-1] if steps else None
    params = next((e for e in reversed(events) if e.get("type") == "params"), None)
    label = METHOD_LABELS.get(job.spec.method, job.spec.method)
    params_text = (f"**Trainable parameters:** {params['trainable_params']:,} of {params['total_params']:,} "
                   f"({100 * params['trainable_share']:.2f}%)" if params else "")
    progress = ""
    if last:
        done, total = last["step"], last.get("max_steps") or 0
        progress = f"Step {done} of {total}" if total else f"Step {done}"
        if total:
            progress += f" ({100 * done / total:.0f}%)"
        progress += f" · loss {last['loss']:.3f}"
        if job.status == "running" and done and total > done:
            progress += f" · about {fmt_seconds(last['elapsed'] / done * (total - done))} left"
        if last.get("samples_per_second"):
            progress += f" · {last['samples_per_second']:.1f} examples/s"
    if job.status == "queued":
        position = studio.jobs.position(job.job_id)
        running = studio.jobs.running()
        ahead = f" Another {METHOD_LABELS.get(running.spec.method, '')} training is running now." if running else ""
        status = f"**Queued.** You are #{position} in the queue.{ahead}"
    elif job.status == "running":
        note = next((e for e in reversed(events) if e.get("type") == "status"), None)
        # Before the first step the worker loads the model and tokenizes; after, it trains.
        doing = "training" if last or (note or {}).get("status") == "training" else "getting ready"
        status = f"**{label} is {doing}** ({fmt_seconds(now - (job.started_at or now))} so far)."
        if job.stop_event.is_set():
            status = f"**Stopping {label}** after the current step…"
    elif job.status == "completed":
        record = job.record or {}
        status = (f"**Finished:** {label} trained {record.get('steps', len(steps))} steps in "
                  f"{fmt_seconds(record.get('train_seconds'))}. Try it in the Compare tab.")
    elif job.status == "stopped":
        status = (f"**Stopped:** {plain(job.error)}" if job.error else
                  f"**Stopped** at step {last['step'] if last else 0}; the model so far is saved "
                  "and shows up in the other tabs.")
    elif job.status == "failed":
        status = f"**Failed:** {plain(job.error or 'unknown error')}"
        if "No space left" in (job.error or ""):
            status += " The disk is full: delete runs you no longer need (Runs tab), then train again."
    else:
        status = f"**{job.status.capitalize()}:** {plain(job.error or '')}"
    return JobView(status, progress, params_text, job.status not in ("queued", "running"), len(steps))


def loss_view(studio, job=None):
    """The loss plot: this session's job boldest, the newest earlier run of each other method dotted."""
    curves: dict = {}
    current_method = job.spec.method if job is not None else None
    if job is not None:
        steps = [e for e in list(job.events) if e.get("type") == "step"]
        curves[f"{METHOD_LABELS[current_method]} (this run)"] = (current_method, steps)
    for method in METHODS:
        if method == current_method:
            continue
        earlier = [r for r in studio.loadable_runs(method) if r.get("status") == "completed"]
        if earlier:
            record = earlier[0]
            try:
                events = [e for e in studio.store.events(record["run_id"]) if e.get("type") == "step"]
            except RunNotFound:
                continue
            curves[f"{METHOD_LABELS[method]}: {record.get('name') or record['run_id']}"[:48]] = (method, events)
    return loss_figure(curves, title="Training loss" if job is not None else "Training loss of earlier runs")


# ------------------------------------------------------------------ run choices (Compare / Evaluate)

def run_choices(studio, method: str) -> list[tuple[str, str]]:
    """(label, run id) for each loadable run of `method`, newest first; a 'none' entry ends the list."""
    runs = studio.loadable_runs(method)
    choices = [(run_label(r), r["run_id"]) for r in runs]
    choices.append(("— skip —", NONE) if runs else ("none yet: train one first", NONE))
    return choices


def keep_or_newest(choices: list[tuple[str, str]], current: str | None) -> str:
    """Keep a still-valid selection; otherwise the newest run (the first choice)."""
    values = [value for _, value in choices]
    return current if current in values and current != NONE else values[0]


def model_choices(studio) -> list[tuple[str, str]]:
    choices = [("Original", ORIGINAL)]
    for record in studio.loadable_runs():
        choices.append((f"{METHOD_LABELS.get(record['method'], record['method'])}: {run_label(record)}",
                        record["run_id"]))
    return choices


def default_models(studio) -> list[str]:
    """Original plus the newest run of each method: the comparison people want first."""
    picked = [ORIGINAL]
    for method in METHODS:
        runs = studio.loadable_runs(method)
        if runs:
            picked.append(runs[0]["run_id"])
    return picked


# ------------------------------------------------------------------ Compare tab

@dataclass
class Column:
    title: str
    text: str      # the summary, shown as plain text
    info: str      # markdown: which run, time taken, ROUGE-L, or how to get a run


def generation_settings(max_new_tokens, num_beams) -> GenerationSettings:
    return GenerationSettings(max_new_tokens=whole("max new tokens", max_new_tokens, 1, MAX_NEW_TOKENS),
                              num_beams=whole("number of beams", num_beams, 1, 8)).validate()


def references_for(dialogue: str, sent: dict | None) -> list[str] | None:
    """The dataset references, if the dialogue is still the one sent from the Dataset tab."""
    if not sent or not isinstance(dialogue, str) or dialogue.strip() != str(sent.get("dialogue", "")).strip():
        return None
    return list(sent.get("references") or []) or None


def compare(studio, dialogue: str, picks: dict[str, str | None], gen: GenerationSettings | None = None,
            references: list[str] | None = None) -> list[Column]:
    """Four columns (Original, Full, LoRA, Prompt), each with its summary or a hint how to get one."""
    refs, notes = [ORIGINAL], {}
    for method in METHODS:
        run_id = picks.get(method)
        if not run_id or run_id == NONE:
            has_runs = bool(studio.loadable_runs(method))
            notes[method] = ("Skipped: pick a run above to include it." if has_runs
                             else MISSING_HINT.format(label=METHOD_LABELS[method]))
            continue
        try:
            record = studio.store.require_loadable(run_id)
        except RunNotFound:
            notes[method] = ("That run is gone (deleted?). Pick another one above."
                             if isinstance(run_id, str) and RUN_ID_PATTERN.match(run_id)
                             else f"{plain(shown(run_id))} is not a run. Pick one above.")
            continue
        if record.get("method") != method:
            notes[method] = f"That run is not a {METHOD_LABELS[method]} run."
            continue
        refs.append(run_id)
    summaries = {s.model: s for s in studio.summarize(refs, dialogue, gen)}
    scores = {}
    if references:
        table = rouge_table([summaries[r].text for r in refs], [references] * len(refs))
        scores = dict(zip(refs, table["rougeL"]))
    columns = []
    for key, ref in zip(COLUMNS, [ORIGINAL, *(picks.get(m) for m in METHODS)]):
        title = "Original" if key == ORIGINAL else METHOD_LABELS[key]
        if key in notes or ref not in summaries:
            columns.append(Column(title, "", notes.get(key, "")))
            continue
        summary = summaries[ref]
        info = f"{fmt_seconds(summary.seconds)}"
        if ref in scores:
            info = f"**ROUGE-L {fmt_score(scores[ref])}** · {info}"
        if ref != ORIGINAL:  # which run wrote it, on its own line
            info += f"  \n{plain(studio.store.get(ref).get('name') or ref)}"
        columns.append(Column(title, summary.text, info))
    return columns


def column_notes(studio, picks: dict[str, str | None]) -> list[str]:
    """Before any summary: what each column will use, or how to get a run for it."""
    notes = [""]
    for method in METHODS:
        run_id = picks.get(method)
        if run_id and run_id != NONE:
            notes.append("")
        elif studio.loadable_runs(method):
            notes.append("Skipped: pick a run above to include it.")
        else:
            notes.append(MISSING_HINT.format(label=METHOD_LABELS[method]))
    return notes


def example_dialogues(data: DialogData, count: int = 3) -> list[tuple[str, str]]:
    """(label, text) samples from the test split in the formats people paste: names, plain lines, tags."""
    rows = (data.splits.get("test") or data.splits.get("validation") or data.splits.get("train") or [])[:count]
    names = {"#Person1#": "Anna", "#Person2#": "Ben", "#Person3#": "Chris"}
    out = []
    for index, ex in enumerate(rows):
        if index == 0:
            text = re.sub(r"#Person\d+#", lambda m: names.get(m.group(0), "Dana"), ex.dialogue)
            style = "names"
        elif index == 1:
            text = "\n".join(re.sub(r"^#Person\d+#:\s*", "", line) for line in ex.dialogue.splitlines())
            style = "plain lines"
        else:
            text, style = ex.dialogue, "#Person#: tags"
        out.append((f"{ex.topic or ex.id} ({style})", text))
    return out


# ------------------------------------------------------------------ Dataset tab

@dataclass
class DatasetPage:
    examples: list[Example]
    page: int            # 0-based, clamped to what exists
    pages: int
    total: int

    @property
    def caption(self) -> str:
        if not self.total:
            return "No dialogues match."
        first = self.page * PAGE_SIZE + 1
        return (f"Page {self.page + 1} of {self.pages} · dialogues {first}–{first + len(self.examples) - 1} "
                f"of {self.total:,}")


def dataset_page(data: DialogData, split: str, topic: str | None, query: str | None, page) -> DatasetPage:
    topic = None if topic in (None, "", ALL_TOPICS) else topic
    query = (query or "")[:200]
    page = whole("page number", page, 1, 10**9) - 1 if page not in (None, "") else 0
    _, total = browse(data, split, topic, query, 0, 1)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages - 1)
    rows, _ = browse(data, split, topic, query, page, PAGE_SIZE)
    return DatasetPage(rows, page, pages, total)


def example_title(ex: Example) -> str:
    count = len(ex.references)
    return f"**{plain(ex.topic or 'no topic')}** · {plain(ex.id)} · {count} reference summar{'y' if count == 1 else 'ies'}"


def references_text(ex: Example) -> str:
    if len(ex.references) == 1:
        return ex.references[0]
    return "\n".join(f"{i}. {ref}" for i, ref in enumerate(ex.references, 1))


def find_example(data: DialogData, split: str, example_id: str) -> Example:
    for ex in data.split(split):
        if ex.id == example_id:
            return ex
    raise ValueError("That dialogue is no longer on this page; reload the page.")


class DatasetStats:
    """Token-length tables per split, computed once: tokenizing a whole split takes a second or two."""

    def __init__(self, data: DialogData, tokenizer_path: str | None):
        self.data = data
        self.tokenizer_path = tokenizer_path
        self._tables: dict[str, pd.DataFrame] = {}
        self._tokenizer = None
        self.unit = "tokens"
        self._lock = threading.Lock()

    def _load_tokenizer(self):
        if self._tokenizer is None and self.tokenizer_path:
            try:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_path)
            except Exception:  # no tokenizer here: count words instead, and say so on the axis
                self.tokenizer_path, self.unit = None, "words"
        if self._tokenizer is None:
            self.unit = "words"
        return self._tokenizer

    def table(self, split: str) -> pd.DataFrame:
        with self._lock:
            if split not in self._tables:
                self._tables[split] = length_table(self.data, split, self._load_tokenizer())
            return self._tables[split]

    def figures(self, split: str, topic: str | None, query: str | None):
        table = self.table(split)
        topic = None if topic in (None, "", ALL_TOPICS) else topic
        if topic or (query or "").strip():
            rows, _ = browse(self.data, split, topic, (query or "")[:200], 0, 10**9)
            table = table[table["id"].isin({ex.id for ex in rows})]
        return length_figure(table, unit=self.unit), topic_figure(table)


# ------------------------------------------------------------------ Evaluate tab

@dataclass
class EvaluationView:
    figure: object
    gains: pd.DataFrame
    per_example: pd.DataFrame     # what the page shows: summaries and ROUGE-L
    per_topic: pd.DataFrame
    csv_path: Path                # every column, for download
    summary: str


def short_label(studio, ref: str) -> str:
    if ref == ORIGINAL:
        return "Original"
    record = studio.store.get(ref)
    return f"{METHOD_LABELS.get(record['method'], record['method'])}: {(record.get('name') or ref)[:40]}"


def run_evaluation(studio, refs: list[str], count, max_new_tokens, scratch: Path, progress=None) -> EvaluationView:
    if not refs:
        raise ValueError("Tick at least one model to evaluate.")
    if not isinstance(refs, (list, tuple)) or not all(isinstance(r, str) for r in refs):
        raise ValueError("The models must be a list of names: 'original' and run ids.")
    test_size = len(studio.data.split("test"))
    limit = whole("number of test dialogues", count, 1, min(MAX_EVAL_EXAMPLES, test_size))
    gen = GenerationSettings(max_new_tokens=whole("max new tokens", max_new_tokens, 1, MAX_NEW_TOKENS)).validate()
    result = studio.evaluate(list(refs), limit=limit, settings=gen, progress=progress)
    methods = {ref: (ORIGINAL if ref == ORIGINAL else studio.store.get(ref).get("method", ref))
               for ref in result.models}
    figure = rouge_figure(result.scores, {r: short_label(studio, r) for r in result.models}, methods)
    baseline = result.labels[ORIGINAL] if ORIGINAL in result.models else result.labels[result.models[0]]
    csv_path = write_scratch(scratch, "evaluation", ".csv", result.per_example.to_csv(index=False))
    # On screen: short column names (the CSV keeps the full labels and every metric).
    short = column_names(studio, result.models)
    shown = result.per_example[["id", "topic", "reference"]].copy()
    for ref in result.models:
        shown[short[ref]] = result.per_example[f"{result.labels[ref]}: summary"]
        shown[f"{short[ref]} ROUGE-L"] = (100 * result.per_example[f"{result.labels[ref]}: rougeL"]).round(1)
    per_topic = (result.per_topic.pivot_table(index="topic", columns="model", values="rougeL")
                 .mul(100).round(1).reset_index() if len(result.per_topic) else result.per_topic)
    summary = (f"Scored **{result.examples}** test dialogues with {len(result.models)} model(s) in "
               f"{fmt_seconds(result.seconds)}. Gains are against **{baseline}**, on the same dialogues; "
               "an interval that includes 0 means the difference may be chance.")
    return EvaluationView(figure, gains_table(result.gains), shown, per_topic, csv_path, summary)


def column_names(studio, refs: list[str]) -> dict[str, str]:
    """Method names as column headers; the run name is added only where a method appears twice."""
    methods = {ref: ORIGINAL if ref == ORIGINAL else studio.store.get(ref).get("method", "") for ref in refs}
    names = {}
    for ref, method in methods.items():
        name = "Original" if method == ORIGINAL else METHOD_LABELS.get(method, method)
        if list(methods.values()).count(method) > 1 and ref != ORIGINAL:
            name = f"{name} ({(studio.store.get(ref).get('name') or ref)[:24]})"
        names[ref] = name
    return names


def gains_table(gains: pd.DataFrame) -> pd.DataFrame:
    """One row per model: each metric's score and its gain with a 95% interval, in ROUGE points."""
    rows = {}
    for record in gains.to_dict("records"):
        row = rows.setdefault(record["model"], {"Model": record["model"]})
        name = record["metric"].replace("rouge", "ROUGE-")
        row[name] = round(100 * record["score"], 1)
        row[f"{name} gain"] = (f"{100 * record['gain']:+.1f} "
                               f"[{100 * record['gain_low']:+.1f}, {100 * record['gain_high']:+.1f}]")
    return pd.DataFrame(list(rows.values()))


def write_scratch(scratch: Path, stem: str, suffix: str, text: str) -> Path:
    """A fresh file in the app's scratch folder; files older than an hour are cleared first."""
    prune_scratch(scratch)
    folder = Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=scratch))
    path = folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"
    path.write_text(text, encoding="utf-8")
    return path


def prune_scratch(scratch: Path, max_age: float = 3600) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - max_age
    for entry in scratch.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        except OSError:
            pass  # another request is clearing it too


# ------------------------------------------------------------------ Runs tab

RUN_COLUMNS = ["Name", "Method", "Status", "Steps", "Time", "Trainable params", "Size on disk",
               "Final loss", "ROUGE-L", "Run id"]


def runs_table(records: list[dict]) -> pd.DataFrame:
    rows = []
    for r in records:
        loss = r.get("final_loss")
        rows.append({
            "Name": r.get("name") or r["run_id"],
            "Method": METHOD_LABELS.get(r.get("method"), r.get("method", "")),
            "Status": r.get("status", ""),
            "Steps": r.get("steps") if r.get("steps") is not None else "",
            "Time": fmt_seconds(r.get("train_seconds")),
            "Trainable params": fmt_params(r.get("trainable_params"), r.get("trainable_share")),
            "Size on disk": fmt_bytes(r.get("size_bytes")),
            "Final loss": f"{loss:.3f}" if isinstance(loss, (int, float)) else "",
            "ROUGE-L": fmt_score((r.get("metrics") or {}).get("rougeL")),
            "Run id": r["run_id"],
        })
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def run_dropdown(records: list[dict]) -> list[tuple[str, str]]:
    return [(f"{METHOD_LABELS.get(r.get('method'), '?')}: {r.get('name') or r['run_id']} ({r.get('status')})",
             r["run_id"]) for r in records]


def rename_run(studio, run_id: str | None, name: str, owner: str) -> str:
    """Rename one of this session's runs (others' runs are theirs to name)."""
    if not run_id:
        raise ValueError("Pick a run first.")
    record = studio.rename_run(run_id, name, owner)
    return f"Renamed to **{plain(record['name'])}**."


def delete_run(studio, run_id: str | None, owner: str, confirmed: bool) -> str:
    if not run_id:
        raise ValueError("Pick a run first.")
    if confirmed is not True:
        raise ValueError("Tick “I'm sure” first: deleting a run cannot be undone.")
    name = studio.store.get(run_id).get("name") or run_id
    studio.delete_run(run_id, owner)
    return f"Deleted **{plain(name)}**."


def zip_run(studio, run_id: str | None, scratch: Path) -> Path:
    """The run's folder (model, run.json, loss curve) as a zip in the scratch folder."""
    if not run_id:
        raise ValueError("Pick a run first.")
    record = studio.store.get(run_id)
    if not studio.store.model_dir(run_id).is_dir():
        raise ValueError(f"Run {record.get('name') or run_id} has no saved model (status: {record.get('status')}).")
    prune_scratch(scratch)
    folder = Path(tempfile.mkdtemp(prefix="zip-", dir=scratch))
    return Path(shutil.make_archive(str(folder / run_id), "zip", root_dir=studio.store.path(run_id)))


def efficiency_view(studio):
    return efficiency_figure(studio.store.list())
