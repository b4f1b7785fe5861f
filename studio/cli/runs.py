"""`runs`, `delete`, `rename`: the run store, read and changed from the disk alone.

    python -m studio runs --json                  # "skipped": run files that could not be read
    python -m studio rename RUN_ID "a better name"; python -m studio delete RUN_ID

No model is resolved or loaded for these, and the CLI runs as the operator, not as a session:
it may change any run.
"""
from __future__ import annotations

from studio.cli.command import Command, add_common, runs_settings, say


def _runs_arguments(p) -> None:
    add_common(p, model=False)


def _delete_arguments(p) -> None:
    p.add_argument("run_id", help="the run's id, as `runs` lists it")
    add_common(p, model=False)


def _rename_arguments(p) -> None:
    p.add_argument("run_id", help="the run's id, as `runs` lists it")
    p.add_argument("name", help="the new name")
    add_common(p, model=False)


def cmd_runs(args) -> dict:
    from studio.service.saved_runs import saved_runs

    runs, problems = saved_runs(runs_settings(args))
    if not args.json:
        for r in runs:
            loss = f"{r.final_loss:.4f}" if r.final_loss is not None else "-"
            print(f"{r.run_id:<36} {r.method:<7} {r.status:<11} loss {loss}")
    for problem in problems:
        say(args, f"skipped: {problem['run_id']}/{problem['file']}: {problem['reason']}")
    return {"runs": runs, "skipped": problems}   # --json writes each record as_dict() (cli._json_value)


def cmd_delete(args) -> dict:
    from studio.service.saved_runs import delete_saved_run

    record = delete_saved_run(runs_settings(args), args.run_id)
    if not args.json:
        print(f"deleted {args.run_id} ({record.name or args.run_id})" if record else
              f"deleted {args.run_id} (its record could not be read)")
    return {"run_id": args.run_id, "deleted": True}


def cmd_rename(args) -> dict:
    from studio.service.saved_runs import rename_saved_run

    record = rename_saved_run(runs_settings(args), args.run_id, args.name)
    if not args.json:
        print(f"{args.run_id} is now named {record.name!r}")
    return {"run_id": args.run_id, "name": record.name}


COMMANDS = (
    Command("runs", "list saved runs", _runs_arguments, cmd_runs),
    Command("delete", "delete a run (not one that is still training)", _delete_arguments, cmd_delete),
    Command("rename", "give a run a new name", _rename_arguments, cmd_rename),
)
