"""What the tabs do, as plain Python: typed values in, text, tables and figures out.

    cfg, overrides = train_request(TrainForm(method="lora", steps=30))
    view = job_view(studio, studio.job(job_id))              # the Train tab's status lines
    columns = compare(studio, dialogue, {"lora": run_id}, gen)   # per method: a run id, or None to skip it
    table = runs_table(studio.runs())

Nothing here imports gradio or torch (the Studio is only named for type checks),
so every rule a user meets (the queue message, a missing method's hint, the
number checks) is tested without a browser, in milliseconds. Handlers talk to
the Studio only, never to its store, queue or pool. Handlers
raise ValueError, PermissionError, RunNotFound or QueueFull with a message a
user can act on; the tab modules turn those into on-screen warnings.

One module per tab (train, compare, dataset, evaluate, runs) and per insight view (overlap,
readout, forgetting, topic_groups, weight_change), plus `common` (text and
choice checks, formatting) and `choices` (which runs a dropdown offers); everything is
imported here, so `from studio.ui import handlers as h; h.compare(...)` works.
"""
from studio.config.declare import parse, shown  # noqa: F401

from .choices import (  # noqa: F401
    compare_picks,
    default_models,
    default_run,
    evaluate_selection,
    keep_or_newest,
    model_choices,
    run_choices,
)
from .common import (  # noqa: F401
    ALL_TOPICS,
    COLUMNS,
    MISSING_HINT,
    NONE,
    PAGE_SIZE,
    SKIP,
    fmt_bytes,
    fmt_params,
    fmt_seconds,
    missing_hint,
    one_of,
    plain,
    some_of,
    text,
)
from .compare import (  # noqa: F401  # noqa: F401
    COPIED_COLORS,
    OVERLAP_COLORS,
    VIEW_CHOICES,
    Column,
    OverlapColumn,
    SentChange,
    column_notes,
    compare,
    example_dialogues,
    generation_settings,
    overlap_columns,
    parse_references,
    reference_after_dialogue_change,
    reference_note,
    reference_text,
    references_for,
    sent_change,
    summaries_result,
    view_colors,
)
from .dataset import (  # noqa: F401
    DatasetPage,
    DatasetStats,
    PageRequest,
    checked_page,
    dataset_page,
    example_title,
    find_example,
    references_text,
)
from .evaluate import (  # noqa: F401  # noqa: F401
    EvaluationView,
    ForgettingView,
    column_names,
    forgetting_view,
    gains_table,
    prune_scratch,
    run_evaluation,
    short_label,
    styled,
    topic_group_table,
    write_scratch,
)
from .queue import YOURS, mark_yours, queue_view  # noqa: F401
from .runs import (  # noqa: F401  # noqa: F401  # noqa: F401
    CAVEAT_LINE,
    DEFAULT_TOP_K,
    NO_RUNS_YET,
    RUN_COLUMNS,
    WeightChangeView,
    delete_run,
    efficiency_view,
    experiment_notes,
    matrix_label,
    prompt_run_choices,
    readout_table,
    rename_run,
    run_dropdown,
    runs_table,
    singular_values_view,
    weight_change_view,
    weight_run_choices,
    yours,
    zip_run,
)
from .train import (  # noqa: F401
    MAX_SMOOTHING,
    JobView,
    TrainForm,
    active_job_id,
    budget_text,
    default_learning_rate,
    form_of_job,
    form_value,
    job_view,
    learning_rate_hint,
    loss_view,
    method_help,
    presenter_mode,
    preset_info,
    preset_values,
    smoothing_window,
    start_training,
    stop_training,
    tracker_choices,
    train_request,
)
