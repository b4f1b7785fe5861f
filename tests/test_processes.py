"""studio/store/processes.py: a process identity survives pid reuse; scratch folders of ended processes are removed."""
import os
import socket
from pathlib import Path

import psutil

from studio.store.processes import is_alive, owned_scratch_dir, pid_alive, process_identity, remove_dead_scratch
from tests.dead_process import dead_pid


def test_this_process_is_alive_by_its_identity():
    me = process_identity()
    assert me == {"host": socket.gethostname(), "pid": os.getpid(), "started": psutil.Process().create_time()}
    assert is_alive(me) and pid_alive(os.getpid())


def test_an_ended_process_or_a_reused_pid_is_not_alive():
    gone = dead_pid()
    assert not pid_alive(gone)
    assert not is_alive({"host": socket.gethostname(), "pid": gone, "started": 1.0})
    # Our pid with another start time: the pid was handed on, so the recorded process is gone.
    reused = {**process_identity(), "started": process_identity()["started"] - 60}
    assert not is_alive(reused)


def test_another_hosts_process_or_a_malformed_identity_counts_as_gone():
    assert not is_alive({**process_identity(), "host": "restarted-space-" + socket.gethostname()})
    for broken in (None, "4242", {}, {"host": socket.gethostname(), "pid": "x", "started": 0},
                   {"host": socket.gethostname(), "pid": os.getpid()}):
        assert not is_alive(broken)


def test_dead_processes_trainer_folders_are_removed_and_live_ones_kept(tmp_path):
    mine = Path(owned_scratch_dir("studio-test-scratch-"))
    try:
        gone = tmp_path / f"studio-test-scratch-{dead_pid()}-1700000000-abc"
        reused = tmp_path / f"studio-test-scratch-{os.getpid()}-1-abc"  # our pid, another start time
        foreign = tmp_path / "studio-test-scratch-unnamed"
        for folder in (gone, reused, foreign):
            folder.mkdir()
        assert set(remove_dead_scratch(tmp_path, "studio-test-scratch-")) == {gone, reused}
        assert foreign.is_dir()
        assert remove_dead_scratch(mine.parent, "studio-test-scratch-") == [] and mine.is_dir()
    finally:
        mine.rmdir()
