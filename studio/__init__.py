"""Tuning Studio's engine: see what full fine-tuning, LoRA and prompt tuning do to FLAN-T5.

Use it from Python (`studio.service.engine.Studio`, `studio.config.settings`, ...) or as
`python -m studio --help`. Nothing in here imports gradio; the UI lives in `studio.ui`.
"""


def quiet_libraries() -> None:
    """Keep the console for our own messages: no per-file progress bars or tying notices."""
    import os
    import warnings

    # PEFT calls a transformers API that transformers 5 deprecates; nothing for our users to act on.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\.")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        import datasets

        datasets.utils.logging.set_verbosity_error()
        datasets.disable_progress_bars()
    except ImportError:
        pass


def freeze_startup_objects() -> None:
    """Take every object alive now out of the garbage collector's full collections, for good.

    A long-lived process holds about 440,000 objects once torch, transformers and gradio are imported,
    and a full collection walks them all: 0.2 s in the app, ~0.5 s in a test process, holding the GIL
    (so every other person's request waits). transformers' Trainer forces one at the start of every
    training (accelerate's `free_memory`), and the model pool forces one when it frees a model.
    Frozen, the imported libraries' objects are skipped and a full collection takes a few ms.

    Call it once, from a process's entry point, after its imports and before any model is loaded: a
    frozen object is never collected, so a model frozen here and dropped later would never be freed.
    Never from library code (a test process builds and drops many studios)."""
    import gc

    gc.collect()   # today's garbage goes first, so what is frozen is what the process keeps anyway
    gc.freeze()
