"""studio/ui/errors.py: user errors become warnings that change nothing; bugs become errors."""
import pytest


def test_guarded_turns_user_errors_into_no_change():
    import gradio as gr

    from studio.ui.errors import guarded

    @guarded
    def bad():
        raise PermissionError("Only the session that trained this run can delete it.")

    with pytest.warns(UserWarning, match="Only the session"):  # gr.Warning outside a request just warns
        assert bad() == gr.skip()  # skips every output of the event, however many

    @guarded
    def bug():
        raise ZeroDivisionError("oops")

    with pytest.raises(gr.Error) as info:
        bug()
    assert "ZeroDivisionError" in info.value.message and "Traceback" not in info.value.message
