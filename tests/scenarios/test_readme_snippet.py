"""README's gradio_client snippet, run exactly as written against a live app on the stand-in model.

The snippet is taken from README.md (the python block after "The running app answers scripts
too"), and run as its own process; only STUDIO_URL, which the snippet reads, points it at the
test's server. It must finish, print the run id it trained and its summaries, and catch the
AppError of a bad run.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.app_server import app_in_folder

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "The running app answers scripts too"


def readme_snippet() -> str:
    text = README.read_text()
    start = text.index(SECTION)
    match = re.compile(r"```python\n(.*?)```", re.S).search(text, start)
    assert match, "no python block after the script section of README.md"
    return match.group(1)


def test_the_snippet_is_the_one_under_the_script_section():
    snippet = readme_snippet()
    assert "api_name=\"/start_training\"" in snippet and "api_name=\"/wait_job\"" in snippet
    assert "except AppError" in snippet


def test_the_readme_snippet_runs_as_written_against_a_live_app(tmp_path, cache_dir):
    script = tmp_path / "snippet.py"
    script.write_text(readme_snippet())
    with app_in_folder(tmp_path, cache_dir=cache_dir) as app:
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              env={"STUDIO_URL": app["url"], "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
        runs = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.name.startswith("lora-"))
    assert done.returncode == 0, done.stdout + done.stderr
    # gradio_client announces "Loaded as API: ..." first; the snippet's own lines follow.
    lines = [line for line in done.stdout.splitlines() if not line.startswith("Loaded as API")]
    job_id, run_id, status = lines[0].split()
    assert runs == [run_id] and status in ("queued", "running")
    assert lines[1].startswith("completed Finished: LoRA trained 20 steps"), lines
    assert "|" in "\n".join(lines[2:-1])    # the original's and LoRA's summaries (they may hold line breaks)
    assert lines[-1].startswith("lora_run: That run is gone"), lines
