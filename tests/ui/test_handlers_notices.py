"""studio/ui/handlers/notices.py: one plain sentence per fact above the tabs; raw errors and commands in the details."""
from types import SimpleNamespace

from studio.ui.handlers.notices import PREFETCH, notice_facts, notice_html

DATASET_NOTE = ("The DialogSum dataset is not available (Could not load dataset 'knkarthick/dialogsum' (offline "
                "and not cached: run `python -m studio prefetch` while online): ConnectionError: Couldn't reach "
                "the Hub (OfflineModeIsEnabled)). Using the bundled sample dialogues instead; run "
                "`python -m studio prefetch` while online to cache it.")


def _studio(notices, standin_notice=None, sample=False, interrupted=()):
    base = SimpleNamespace(notice=standin_notice, is_standin=standin_notice is not None)
    return SimpleNamespace(notices=list(notices), base=base, data=SimpleNamespace(is_sample=sample),
                           interrupted=list(interrupted))


def test_the_offline_stand_in_gets_one_plain_headline_and_the_prefetch_advice_once(studio):
    headlines, details = notice_facts(studio)
    assert headlines == ["Offline: a tiny stand-in model replaces FLAN-T5, so summaries show how tuning works, "
                         "not real quality."]
    assert details[-1] == PREFETCH and sum("prefetch" in d for d in details) == 1


def test_the_missing_dataset_keeps_its_raw_error_in_the_details_only():
    headlines, details = notice_facts(_studio([DATASET_NOTE], sample=True))
    assert headlines == ["The DialogSum dataset is not available here; a bundled sample of dialogues stands in "
                         "for it."]
    assert "ConnectionError: Couldn't reach the Hub" in details[0]          # what an operator acts on
    assert "Using the bundled sample" not in details[0] and details[-1] == PREFETCH


def test_any_other_note_is_cut_to_its_first_sentence_without_the_raw_error():
    note = "Could not read 2 runs (BadRecord: steps: (nested) bad). They are skipped. More text."
    headlines, details = notice_facts(_studio([note]))
    assert headlines == ["Could not read 2 runs."] and details == [note]


def test_interrupted_runs_are_counted_in_words():
    assert notice_facts(_studio([], interrupted=["a"]))[0] == [
        "1 run was interrupted when the studio last stopped; the Runs tab lists them."]
    assert "2 runs were interrupted" in notice_facts(_studio([], interrupted=["a", "b"]))[0][0]


def test_the_html_escapes_text_keeps_code_spans_and_says_nothing_when_all_is_well():
    assert notice_html(_studio([])) == ""
    page = notice_html(_studio(["Folder <b>x</b> is read-only; see `ls -l`."]))
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>" not in page and "<code>ls -l</code>" in page
    assert page.count("<details>") == 1 and "⚠️" in page


def test_the_console_says_offline_and_stand_in_in_one_line_at_start(studio, capsys):
    import gradio as gr

    from studio.ui import section_notice
    from studio.ui.handlers.notices import console_line

    line = console_line(studio)
    assert line.startswith("Tuning Studio: offline, on the tiny stand-in model") and "\n" not in line
    assert "python -m studio prefetch" in line
    with gr.Blocks() as demo:
        section_notice.build(studio, demo)
    assert capsys.readouterr().err.strip() == line
    real = SimpleNamespace(base=SimpleNamespace(is_standin=False, name="google/flan-t5-small"), offline=False)
    assert console_line(real) == ""
    cached = SimpleNamespace(base=SimpleNamespace(is_standin=False, name="google/flan-t5-small"), offline=True)
    assert console_line(cached) == "Tuning Studio: offline, on google/flan-t5-small from local files only."
