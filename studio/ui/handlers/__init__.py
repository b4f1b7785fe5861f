"""What the tabs do, as plain Python: typed values in, text, tables and figures out.

    cfg, overrides = train_request(TrainForm(method="lora", steps=30))
    view = job_view(studio, studio.job(job_id))              # the Train tab's status lines
    columns = compare(studio, dialogue, {"full": None, "lora": run_id, "prompt": None}, gen)
    table = runs_table(studio.runs())

Nothing here imports gradio or torch (the Studio is only named for type checks),
so every rule a user meets (the queue message, a missing method's hint, the
number checks) is tested without a browser, in milliseconds. Handlers talk to
the Studio only, never to its store, queue or pool. Handlers
raise ValueError, PermissionError, RunNotFound or QueueFull with a message a
user can act on; the tab modules turn those into on-screen warnings.

One module per tab (train, compare, dataset, evaluate, runs), plus `common` (text and
choice checks, formatting) and `choices` (which runs a dropdown offers); everything is
imported here, so `from studio.ui import handlers as h; h.compare(...)` works.
"""
from ...config import LORA_TARGETS  # noqa: F401
from ...declare import parse, shown  # noqa: F401
from .common import (  # noqa: F401
    NONE, ALL_TOPICS, PAGE_SIZE, COLUMNS, MISSING_HINT,
    METHOD_HELP, one_of, some_of, text, plain, fmt_seconds,
    fmt_bytes, fmt_params, fmt_score,
)
from .train import (  # noqa: F401
    TrainForm, preset_values, default_learning_rate, learning_rate_hint, train_request,
    start_training, stop_training, active_job_id, JobView, job_view,
    loss_view,
)
from .choices import (  # noqa: F401
    run_choices, keep_or_newest, model_choices, default_models,
)
from .compare import (  # noqa: F401
    Column, generation_settings, references_for, compare, column_notes,
    example_dialogues,
)
from .dataset import (  # noqa: F401
    DatasetPage, PageRequest, dataset_page, example_title, references_text, find_example,
    DatasetStats,
)
from .evaluate import (  # noqa: F401
    EvaluationView, short_label, run_evaluation, column_names, gains_table,
    write_scratch, prune_scratch,
)
from .runs import (  # noqa: F401
    RUN_COLUMNS, runs_table, run_dropdown, rename_run, delete_run,
    zip_run, efficiency_view,
)
