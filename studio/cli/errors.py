"""The CLI's failures a person caused, and the one line `error: ...` says for each.

    raise CliError("--out goes with --dry-run (an upload uses a temporary folder).")   # in a command
    ...
    except user_errors() as exc:                                                           # in main
        print(f"error: {user_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT

Anything else a command raises is a bug in the studio and keeps its traceback.
"""
from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130   # the shells' convention for Ctrl-C (128 + SIGINT)
MAX_ERROR_CHARS = 600     # one readable line, whatever an exception carries
MAX_PATH_CHARS = 120


class CliError(Exception):
    pass


def user_errors() -> tuple:
    """A user's mistake or their machine's refusal (a path, a file, the network, the hub)."""
    # Most hub errors are OSErrors; "no such file in the repo" is not.
    from huggingface_hub.errors import EntryNotFoundError

    from studio.data.dialogsum import DataError
    from studio.service.engine import USER_ERRORS

    return (CliError, DataError, OSError, RecursionError, *USER_ERRORS, EntryNotFoundError)


def short_path(path) -> str:
    """A path as an error line shows it: a 5,000-character name is cut in the middle, with its length."""
    text = str(path)
    if len(text) <= MAX_PATH_CHARS:
        return text
    return f"{text[:60]}…{text[-40:]} ({len(text):,} characters)"


def user_message(exc: BaseException) -> str:
    """The one line `error: ...` says for a user-caused failure."""
    if isinstance(exc, RecursionError):
        message = ("the input is nested too deeply to read (lists or objects inside each other thousands of "
                   "times): it is not a file the studio wrote")
    elif isinstance(exc, FileNotFoundError) and exc.filename is not None:
        message = f"no such file: {short_path(exc.filename)}"
    elif isinstance(exc, OSError) and exc.filename is not None:
        what = exc.strerror or type(exc).__name__
        message = f"cannot use {short_path(exc.filename)}: {what}"
        if exc.filename2 is not None:
            message += f" ({short_path(exc.filename2)})"
    else:
        message = str(exc) or type(exc).__name__
    message = " ".join(message.split())   # hub errors span several lines; the error is one
    return message if len(message) <= MAX_ERROR_CHARS else message[:MAX_ERROR_CHARS] + "…"
