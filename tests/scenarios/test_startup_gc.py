"""`python app.py` freezes what its start-up imported out of full garbage collections, before it builds
the page or loads a model (studio.freeze_startup_objects): every training forces a full collection, and
without the freeze each walked the ~440,000 objects of torch, transformers and gradio."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# app.py run as `python app.py` would run it, with launch() left out: then what is frozen, and what is not.
STARTUP_PROBE = """
import gc, json, runpy
import gradio as gr
gr.Blocks.launch = lambda self, **kwargs: None
namespace = runpy.run_path("app.py", run_name="__main__")
demo, engine = namespace["demo"], namespace["engine"]
unfrozen = gc.get_objects()
print(json.dumps({"frozen": gc.get_freeze_count(), "unfrozen": len(unfrozen),
                  "demo_unfrozen": any(o is demo for o in unfrozen),
                  "engine_frozen": not any(o is engine for o in unfrozen)}))
"""


def test_app_start_freezes_the_imported_libraries_but_not_the_page_it_builds(tmp_path, cache_dir):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "STUDIO_DATA": "bundled",
           "STUDIO_RUNS_DIR": str(tmp_path / "runs"), "STUDIO_CACHE_DIR": str(cache_dir)}
    proc = subprocess.run([sys.executable, "-c", STARTUP_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    # The libraries' objects are frozen (hundreds of thousands); the page built afterwards is not.
    assert seen["frozen"] > 100_000 and seen["frozen"] > 2 * seen["unfrozen"], seen
    assert seen["demo_unfrozen"], seen
    # The studio itself was made before the freeze (it imports torch and transformers), no model in it yet.
    assert seen["engine_frozen"], seen


def test_a_frozen_process_still_collects_what_it_makes_afterwards():
    probe = """
import gc, weakref
from studio import freeze_startup_objects
freeze_startup_objects()
class Node:
    pass
a, b = Node(), Node()
a.other, b.other = b, a          # a cycle: only the collector frees it
gone = weakref.ref(a)
del a, b
gc.collect()
print(gc.get_freeze_count() > 0, gone() is None)
"""
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["True", "True"]
