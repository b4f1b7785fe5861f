"""dead_pid(): the pid of a process that has ended and been reaped, for tests of "its owner is gone"."""
import subprocess
import sys


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
