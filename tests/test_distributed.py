"""Several processes, one run: `torchrun --nproc_per_node 2 -m studio train` on the CPU with gloo."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.model.distributed import World, batch_fields, current_world

ROOT = Path(__file__).resolve().parent.parent


def test_world_comes_from_the_launcher_variables():
    assert current_world({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == World(1, 4, 1)
    assert current_world({"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}).is_main is False
    single = current_world({})
    assert single.is_main and single.world_size == 1 and not single.distributed
    assert batch_fields(8, World(0, 3, 0)) == {"world_size": 3, "gradient_accumulation_steps": 1,
                                               "effective_batch_size": 24}


@pytest.mark.slow
def test_torchrun_two_processes_make_one_completed_run_and_one_json_object(tmp_path, cache_dir):
    runs = tmp_path / "runs"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "STUDIO_BASE_MODEL")}
    env.update(HF_HUB_OFFLINE="1", STUDIO_RUNS_DIR=str(runs), STUDIO_CACHE_DIR=str(cache_dir), STUDIO_DATA="bundled",
               OMP_NUM_THREADS="1", TMPDIR=str(tmp_path))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
               "-m", "studio", "train", "--method", "lora", "--steps", "3", "--batch-size", "2",
               "--train-size", "16", "--json"]
    proc = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout  # rank 1 printed nothing
    out = json.loads(lines[0])
    assert out["status"] == "completed" and out["method"] == "lora"

    folders = [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert [p.name for p in folders] == [out["run_id"]]
    record = json.loads((folders[0] / "run.json").read_text())
    assert record["status"] == "completed" and record["steps"] == 3
    assert record["world_size"] == 2 and record["effective_batch_size"] == 2 * 2 * 1
    assert (folders[0] / "model" / "adapter_model.safetensors").is_file()
    steps = [json.loads(line) for line in (folders[0] / "events.jsonl").read_text().splitlines()]
    assert [e["step"] for e in steps if e["type"] == "step"] == [1, 2, 3]  # rank 0's log alone, no duplicates
