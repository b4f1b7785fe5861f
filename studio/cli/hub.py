"""`push`, `pull`: a run to a Hugging Face model repo and back (studio/store/hub.py does the work).

    python -m studio push RUN_ID --repo me/flan-lora [--private] [--dry-run] --json
    python -m studio pull me/flan-lora --json     # or a local run / PEFT adapter folder
"""
from __future__ import annotations

from pathlib import Path

from studio.cli.command import Command, add_common, runs_settings, studio_from
from studio.cli.errors import CliError, short_path

# The Hub client builder push/pull use; tests replace it with a fake that records what would be sent.
HUB_CLIENT_FACTORY = None


def _push_arguments(p) -> None:
    p.add_argument("run_id", help="the run's id, as `runs` lists it")
    p.add_argument("--repo", required=True, help="OWNER/NAME of the model repo")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--dry-run", action="store_true", help="only write the folder that would be uploaded")
    p.add_argument("--out", help="with --dry-run: the (new or empty) folder to write")
    add_common(p, model=False)


def _pull_arguments(p) -> None:
    p.add_argument("source", help="OWNER/NAME on the Hub, or a local folder")
    add_common(p)


def cmd_push(args) -> dict:
    from studio.service.saved_runs import push_saved_run

    if args.out and not args.dry_run:
        raise CliError("--out goes with --dry-run (an upload uses a temporary folder).")
    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise CliError(f"--out {short_path(args.out)} is an existing file: give a new or empty folder.")
    # The run store alone, as the operator: no model is resolved or loaded to upload a run.
    out = push_saved_run(runs_settings(args), args.run_id, args.repo,
                                private=args.private, dry_run=args.dry_run,
                                folder=Path(args.out) if args.out else None, client_factory=HUB_CLIENT_FACTORY)
    if not args.json:
        if args.dry_run:
            print(f"would upload {len(out['files'])} files from {out['folder']}:")
            for name in out["files"]:
                print(f"  {name}")
        else:
            print(f"pushed {args.run_id} to {out.get('repo_url') or args.repo}")
    return out


def cmd_pull(args) -> dict:
    studio = studio_from(args)
    record = studio.pull_run(args.source, client_factory=HUB_CLIENT_FACTORY)
    if not args.json:
        print(f"imported {args.source} as {record.run_id} ({studio.run_label(record)})")
    return {"run_id": record.run_id, "method": record.method, "name": record.name,
            "status": record.status, "pulled_from": record.pulled_from,
            "run_dir": str(studio.run_dir(record.run_id))}


COMMANDS = (
    Command("push", "upload a finished run to a Hugging Face model repo", _push_arguments, cmd_push),
    Command("pull", "import a pushed run or a PEFT adapter folder into the run store", _pull_arguments, cmd_pull),
)
