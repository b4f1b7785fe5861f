"""Runs tab, "Share": push one of your runs to the Hub (only where the operator set HF_TOKEN), import one back.

The token never reaches the page: the section only knows whether one is configured
(Studio.can_push), and hub.py reads it on the server when an upload starts.
"""
from __future__ import annotations

import gradio as gr

from .context import UiContext
from .errors import guarded
from .handlers import runs as hr
from .turns import session_owner


def build(ctx: UiContext, picked: gr.Dropdown) -> None:
    """`picked` is the Runs tab's run dropdown: the run a push sends."""
    studio = ctx.studio
    with gr.Accordion("Share on the Hugging Face Hub", open=False, elem_id="hub-section"):
        message = gr.Markdown()
        if studio.can_push:
            with gr.Row(equal_height=True):
                repo = gr.Textbox(label="Model repo (OWNER/NAME)", max_length=200, scale=3,
                                  placeholder="your-name/flan-t5-lora-dialogsum")
                private = gr.Checkbox(label="Private", value=True, scale=1)
                push = gr.Button("Push to the Hub", scale=1, elem_id="hub-push")

            @guarded
            def push_run(run_id, repo_id, is_private, owner):
                return {message: hr.push_run(studio, run_id, repo_id, is_private, session_owner(studio, owner))}

            push.click(push_run, [picked, repo, private, ctx.owner], [message], api_name="push_run",
                       preprocess=False)
        gr.Markdown("**Import from the Hub or a folder**: a run pushed from a studio, or any PEFT adapter "
                    f"for {studio.base.name}. Safetensors weights only.")
        with gr.Row(equal_height=True):
            source = gr.Textbox(label="Hub repo (OWNER/NAME)", max_length=200, scale=3)
            pull = gr.Button("Import from the Hub", scale=1, elem_id="hub-pull")
        with gr.Row(equal_height=True):
            files = gr.File(label="…or the files of a run / adapter folder", file_count="multiple",
                            file_types=[".json", ".safetensors", ".jsonl", ".md", ".model", ".txt"], scale=3)
            upload = gr.Button("Import these files", scale=1, elem_id="hub-import-files")

        @guarded
        def pull_run(repo_id, version, owner):
            owner = session_owner(studio, owner, issue=True)   # the importer may rename or delete it
            return {message: hr.import_from_hub(studio, repo_id, owner=owner), ctx.runs_version: (version or 0) + 1}

        @guarded
        def import_files(paths, version, owner):
            owner = session_owner(studio, owner, issue=True)
            return {message: hr.import_files(studio, paths, ctx.scratch, owner=owner), files: None,
                    ctx.runs_version: (version or 0) + 1}

        pull.click(pull_run, [source, ctx.runs_version, ctx.owner], [message, ctx.runs_version],
                   api_name="import_run")
        upload.click(import_files, [files, ctx.runs_version, ctx.owner], [message, files, ctx.runs_version],
                     api_name="import_run_files")
