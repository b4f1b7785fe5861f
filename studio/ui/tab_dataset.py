"""Dataset tab: browse dialogues by split, topic and search; length and topic charts; send one to Compare."""
from __future__ import annotations

import gradio as gr

from ..data import SPLITS
from . import handlers as h
from .app import UiContext, guarded


def build(ctx: UiContext) -> None:
    data = ctx.studio.data
    splits = [s for s in SPLITS if data.splits.get(s)] + [s for s in data.splits if s not in SPLITS]
    first_split = "train" if "train" in splits else splits[0]
    stats = h.DatasetStats(data, ctx.studio.base.path)
    gr.Markdown(f"**{data.description or data.source}.** Each dialogue has one or more reference summaries "
                "written by people; training teaches the model to write like them.", elem_classes=["tab-intro"])
    with gr.Row(equal_height=True):
        split = gr.Dropdown(splits, value=first_split, label="Split", scale=1)
        topic = gr.Dropdown([h.ALL_TOPICS, *data.topics(first_split)], value=h.ALL_TOPICS, label="Topic", scale=2)
        query = gr.Textbox(label="Search", placeholder="a word in the dialogue or summary, then Enter", scale=3,
                           max_length=200)
    with gr.Row(equal_height=True, elem_classes=["pager"]):
        prev_btn = gr.Button("◀ Previous", size="sm", scale=0, min_width=120)
        page_no = gr.Number(value=1, label="Page", precision=0, minimum=1, scale=0, min_width=90)
        next_btn = gr.Button("Next ▶", size="sm", scale=0, min_width=120)
        caption = gr.Markdown(elem_classes=["pager-caption"])
    page_ids = gr.State([])

    slots = []  # (group, title, dialogue, references, send button) per example on a page
    for _ in range(h.PAGE_SIZE):
        with gr.Group(elem_classes=["example-card"]) as group:
            title = gr.Markdown()
            with gr.Row():
                dialogue = gr.Textbox(label="Conversation", lines=6, max_lines=14, interactive=False, scale=3)
                with gr.Column(scale=2):
                    refs = gr.Textbox(label="Reference summaries", lines=4, max_lines=8, interactive=False)
                    send = gr.Button("Send to Compare", size="sm", variant="secondary")
        slots.append((group, title, dialogue, refs, send))
    with gr.Row():
        length_plot = gr.Plot(label="Lengths", show_label=False)
        topic_plot = gr.Plot(label="Topics", show_label=False)

    slot_outputs = [c for group, title, dlg, refs, _ in slots for c in (group, title, dlg, refs)]
    page_outputs = [*slot_outputs, page_no, caption, page_ids]

    @guarded(len(page_outputs))
    def show(split_name, topic_name, text, page):
        result = h.dataset_page(data, split_name, topic_name, text, page)
        values = []
        for index in range(h.PAGE_SIZE):
            if index < len(result.examples):
                ex = result.examples[index]
                values += [gr.Group(visible=True), h.example_title(ex), ex.dialogue, h.references_text(ex)]
            else:
                values += [gr.Group(visible=False), "", "", ""]
        return (*values, result.page + 1, result.caption, [ex.id for ex in result.examples])

    @guarded(2)
    def figures(split_name, topic_name, text):
        return stats.figures(split_name, topic_name, text)

    def first_page(split_name, topic_name, text):
        return show(split_name, topic_name, text, 1)

    def step(delta):
        return lambda s, t, q, page: show(s, t, q, max(1, int(page or 1) + delta))

    filters = [split, topic, query]
    quiet = dict(api_visibility="private", show_progress="hidden")

    def new_split(split_name, text):
        # A new split has its own topics: reset the filter, then show its first page.
        return (gr.Dropdown(choices=[h.ALL_TOPICS, *data.topics(split_name)], value=h.ALL_TOPICS),
                *first_page(split_name, h.ALL_TOPICS, text))

    # .input, not .change: only what a person does reloads the page, never our own updates.
    split.input(new_split, [split, query], [topic, *page_outputs], **quiet)
    for trigger in (topic.input, query.submit):
        trigger(first_page, filters, page_outputs, **quiet)
    for trigger in (split.input, topic.input, query.submit):
        trigger(figures, filters, [length_plot, topic_plot], **quiet)
    prev_btn.click(step(-1), [*filters, page_no], page_outputs, **quiet)
    next_btn.click(step(+1), [*filters, page_no], page_outputs, **quiet)
    page_no.submit(show, [*filters, page_no], page_outputs, **quiet)
    ctx.demo.load(first_page, filters, page_outputs, **quiet)
    ctx.demo.load(figures, filters, [length_plot, topic_plot], **quiet)

    for index, (*_, send) in enumerate(slots):
        @guarded(3)
        def send_to_compare(split_name, ids, index=index):
            if index >= len(ids or []):
                raise ValueError("That slot is empty.")
            ex = h.find_example(data, split_name, ids[index])
            return ex.dialogue, {"dialogue": ex.dialogue, "references": ex.references}, gr.Tabs(selected="compare")

        send.click(send_to_compare, [split, page_ids], [ctx.dialogue, ctx.sent_example, ctx.tabs],
                   api_visibility="private")
