"""The files bundled with the studio (sample dialogues, CSS), read through importlib.resources.

    text = read_text("sample_dialogues.jsonl")

Through importlib.resources rather than a path next to this file, so an installed
copy (a wheel, a zip) finds them as well as a source checkout does.
"""
from importlib import resources

SAMPLE_DIALOGUES = "sample_dialogues.jsonl"
STYLE_CSS = "style.css"


def read_text(name: str) -> str:
    """The text of one bundled file, wherever the package is installed."""
    return (resources.files(__name__) / name).read_text(encoding="utf-8")
