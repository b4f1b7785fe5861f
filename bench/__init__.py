"""The benchmark: the studio's training and evaluation against the course notebooks' recipe, side by side.

    python -m studio bench                 # full run, ~15 min on 2 CPU cores
    python -m studio bench --quick         # a smoke run, ~3 min
    python -m studio bench --json --out bench/results/latest.json

It lives beside the `studio` package, not inside it: an installed studio does not
carry it, and `python -m studio bench` works from a source checkout. Modules:
model.py (the model under test), train_speed.py, eval_speed.py, memory.py,
app_server.py (starts `python app.py`; the tests use it too), report.py, run.py
(runs every part and writes the results).
"""
from .run import run_benchmark

__all__ = ["run_benchmark"]
