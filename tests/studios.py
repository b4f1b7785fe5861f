"""The tests' studios: offline, on the bundled dialogues and the session's stand-in model, runs in the
test's own folder.

    settings = offline_settings(tmp_path / "runs", cache_dir)                     # what the `settings` fixture gives
    settings = offline_settings(runs, cache_dir, env={"STUDIO_MAX_RUN_SECONDS": "30"})   # with an operator's variables
    studio = offline_studio(runs, cache_dir)

Built through Settings.from_env with the environment given (none by default), so a variable set in the
shell that runs the tests never reaches them.
"""
from __future__ import annotations

from studio.config.settings import Settings


def offline_settings(runs_dir, cache_dir, env: dict | None = None, **flags) -> Settings:
    return Settings.from_env(env=dict(env or {}), offline=True, data="bundled", runs_dir=runs_dir,
                             cache_dir=cache_dir, **flags)


def offline_studio(runs_dir, cache_dir, env: dict | None = None, **flags):
    from studio.service.engine import Studio

    return Studio(offline_settings(runs_dir, cache_dir, env, **flags))


def a_record(run_id: str = "lora-20261207-000000-abcd", status: str = "completed", method: str = "lora", **fields):
    """A run's final record as a stand-in training function returns it (the job queue reads its status and error)."""
    from studio.store.records import typed_record

    return typed_record({"run_id": run_id, "method": method, "status": status, "created_at": "2026-12-07T00:00:00",
                         **fields})
