"""studio/ui/handlers/common.py: user text made inert, numbers formatted for people."""

from studio.ui.handlers.common import fmt_bytes, fmt_seconds, plain


def test_user_text_is_inert_in_markdown():
    assert plain("<img src=x onerror=alert(1)> **bold** [link](http://x)") == (
        "&lt;img src=x onerror=alert\\(1\\)&gt; \\*\\*bold\\*\\* \\[link\\]\\(http://x\\)")


def test_format_helpers():
    assert fmt_seconds(3.21) == "3.2 s" and fmt_seconds(4000) == "1 h 06 min"
    assert fmt_seconds(float("nan")) == "" and fmt_seconds(None) == ""
    assert fmt_bytes(512) == "512 B" and fmt_bytes(0) == ""
