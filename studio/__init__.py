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
