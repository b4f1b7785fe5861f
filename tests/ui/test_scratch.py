"""The app's scratch folder (temporary downloads would otherwise pile up): gone after a clean exit; a
killed app's folder goes at the next start."""
import os
import subprocess
import sys

from studio.ui.scratch import PREFIX, scratch_folder, sweep_dead


def _finished_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_clean_exit_removes_the_process_folder(tmp_path):
    code = ("import sys; from pathlib import Path; from studio.ui.scratch import scratch_folder; "
            "f = scratch_folder(Path(sys.argv[1])); (f / 'evaluation.csv').write_text('x'); print(f)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                         cwd=os.getcwd())
    folder = out.stdout.strip()
    assert folder.startswith(str(tmp_path / PREFIX))
    assert not os.path.exists(folder)
    assert list(tmp_path.iterdir()) == []


def test_a_start_sweeps_dead_processes_folders_and_keeps_live_ones(tmp_path):
    dead = tmp_path / f"{PREFIX}{_finished_pid()}"
    (dead / "nested").mkdir(parents=True)
    (dead / "nested" / "file.csv").write_text("left by a killed app")
    live_process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f"{PREFIX}{live_process.pid}"
        live.mkdir()
        other = tmp_path / f"{PREFIX}not-a-pid"
        other.mkdir()
        mine = scratch_folder(tmp_path)
        assert mine == tmp_path / f"{PREFIX}{os.getpid()}" and mine.is_dir()
        assert not dead.exists()
        assert live.is_dir() and other.is_dir()
    finally:
        live_process.kill()
        live_process.wait()
    assert sweep_dead(tmp_path) == [live]   # once that process is gone, its folder goes too
    assert mine.is_dir()                     # never our own


def test_a_link_named_like_a_scratch_folder_is_not_followed(tmp_path):
    target = tmp_path / "keep"
    target.mkdir()
    (target / "precious.txt").write_text("not ours")
    (tmp_path / f"{PREFIX}{_finished_pid()}").symlink_to(target, target_is_directory=True)
    sweep_dead(tmp_path)
    assert (target / "precious.txt").read_text() == "not ours"
