"""Which process of a multi-process training this is (torchrun / accelerate launch), and what that means for a run.

    world = current_world()          # World(rank=0, world_size=2, local_rank=0) under torchrun --nproc_per_node 2
    world.is_main                    # only rank 0 creates, writes and reports the run
    batch_fields(cfg, world)         # {"world_size": 2, "gradient_accumulation_steps": 1, "effective_batch_size": 16}

torchrun and accelerate launch both start one process per device and tell each its
place through RANK / WORLD_SIZE / LOCAL_RANK; the Trainer reads the same variables
to wrap the model in DistributedDataParallel. Every rank trains (each on its own
share of the batches); only rank 0 touches the run store and prints, so one command
makes one run and one JSON object whatever the number of processes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

# The studio accumulates no gradients across steps; recorded so the effective batch size is explicit.
GRADIENT_ACCUMULATION_STEPS = 1


@dataclass(frozen=True)
class World:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(env, name: str) -> int | None:
    value = str(env.get(name, "")).strip()
    return int(value) if value.lstrip("-").isdigit() else None


def current_world(env=None) -> World:
    """The launcher's variables first; else an initialised torch.distributed group; else one process."""
    env = os.environ if env is None else env
    world_size = _env_int(env, "WORLD_SIZE")
    if world_size is not None and world_size >= 1:
        rank = _env_int(env, "RANK") or 0
        local_rank = _env_int(env, "LOCAL_RANK")
        return World(rank, world_size, rank if local_rank is None else local_rank)
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            return World(dist.get_rank(), dist.get_world_size(), dist.get_rank())
    except ImportError:
        pass
    return World()


def batch_fields(batch_size: int, world: World) -> dict:
    """What run.json records about how many examples one optimizer step sees."""
    return {"world_size": world.world_size, "gradient_accumulation_steps": GRADIENT_ACCUMULATION_STEPS,
            "effective_batch_size": batch_size * world.world_size * GRADIENT_ACCUMULATION_STEPS}
