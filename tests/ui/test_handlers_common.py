"""studio/ui/handlers/common.py: user text made inert, numbers formatted for people."""

from studio.ui import handlers as h


def test_user_text_is_inert_in_markdown():
    assert h.plain("<img src=x onerror=alert(1)> **bold** [link](http://x)") == (
        "&lt;img src=x onerror=alert\\(1\\)&gt; \\*\\*bold\\*\\* \\[link\\]\\(http://x\\)")


def test_format_helpers():
    assert h.fmt_seconds(3.21) == "3.2 s" and h.fmt_seconds(4000) == "1 h 06 min"
    assert h.fmt_seconds(float("nan")) == "" and h.fmt_seconds(None) == ""
    assert h.fmt_bytes(512) == "512 B" and h.fmt_bytes(0) == ""
