"""Dataset tab: browse dialogues by split, topic and search; length and topic charts; send one to Compare."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.data.dialogsum import SPLITS

from .context import QUIET, UiContext
from .errors import guarded
from .handlers import dataset as hd
from .handlers.common import ALL_TOPICS, PAGE_SIZE

CHART_MIN_WIDTH = 340  # px: two fit beside each other from about 720 px wide; a phone stacks them


@dataclass
class ExampleCard:
    """One example on a page: hidden when the page has fewer."""
    group: gr.Group
    title: gr.Markdown
    dialogue: gr.Textbox
    references: gr.Textbox
    send: gr.Button        # to the Compare tab


@dataclass
class DatasetWidgets:
    """The Dataset tab's filters, pager, one card per example on a page, and the charts."""
    split: gr.Dropdown
    topic: gr.Dropdown
    query: gr.Textbox
    prev: gr.Button
    page_no: gr.Number
    next: gr.Button
    caption: gr.Markdown
    page_ids: gr.State     # the ids on screen, for "Send to Compare"
    page_shown: gr.State   # the page on screen: what the box goes back to after a bad number
    length_plot: gr.Plot
    topic_plot: gr.Plot
    slots: list[ExampleCard]


def build(ctx: UiContext) -> None:
    ui = _layout(ctx)
    _wire_pages(ctx, ui)
    _wire_send(ctx, ui)


def _layout(ctx: UiContext) -> DatasetWidgets:
    data, slots = ctx.studio.data, []
    splits = [s for s in SPLITS if data.splits.get(s)] + [s for s in data.splits if s not in SPLITS]
    first_split = "train" if "train" in splits else splits[0]
    gr.Markdown(f"**{data.description or data.source}.** Each dialogue has one or more reference summaries "
                "written by people; training teaches the model to write like them.", elem_classes=["tab-intro"])
    with gr.Row(equal_height=True):
        split = gr.Dropdown(splits, value=first_split, label="Split", scale=1)
        topic = gr.Dropdown([ALL_TOPICS, *data.topics(first_split)], value=ALL_TOPICS, label="Topic",
                            scale=2)
        query = gr.Textbox(label="Search", placeholder="a word in the dialogue or summary, then Enter", scale=3,
                           max_length=200)
    with gr.Row(equal_height=True, elem_classes=["pager"]):
        prev = gr.Button("◀ Previous", size="sm", scale=0, min_width=120)
        page_no = gr.Number(value=1, label="Page", precision=0, minimum=1, scale=0, min_width=90)
        next_page = gr.Button("Next ▶", size="sm", scale=0, min_width=120)
        caption = gr.Markdown(elem_classes=["pager-caption"])
    page_ids = gr.State([])
    page_shown = gr.State(1)  # the page on screen: what the box goes back to after a bad number
    for _ in range(PAGE_SIZE):  # one card per example on a page
        with gr.Group(elem_classes=["example-card"]) as group:
            title = gr.Markdown()
            with gr.Row():
                dialogue = gr.Textbox(label="Conversation", lines=6, max_lines=14, interactive=False, scale=3)
                with gr.Column(scale=2):
                    references = gr.Textbox(label="Reference summaries", lines=4, max_lines=8, interactive=False)
                    send = gr.Button("Send to Compare", size="sm", variant="secondary")
        slots.append(ExampleCard(group=group, title=title, dialogue=dialogue, references=references, send=send))
    # Side by side on a laptop; on a phone each needs the full width, or the topic names get cut off.
    with gr.Row():
        length_plot = gr.Plot(label="Lengths", show_label=False, min_width=CHART_MIN_WIDTH, elem_id="length-plot")
        topic_plot = gr.Plot(label="Topics", show_label=False, min_width=CHART_MIN_WIDTH, elem_id="topic-plot")
    return DatasetWidgets(split=split, topic=topic, query=query, prev=prev, page_no=page_no, next=next_page,
                          caption=caption, page_ids=page_ids, page_shown=page_shown, length_plot=length_plot,
                          topic_plot=topic_plot, slots=slots)


def _wire_pages(ctx: UiContext, ui: DatasetWidgets) -> None:
    data = ctx.studio.data
    page_outputs = [c for s in ui.slots for c in (s.group, s.title, s.dialogue, s.references)]
    page_outputs += [ui.page_no, ui.caption, ui.page_ids, ui.page_shown]

    @guarded
    def show(split_name, topic_name, text, page):
        result = hd.dataset_page(data, split_name, topic_name, text, page)
        out = {ui.page_no: result.page + 1, ui.page_shown: result.page + 1, ui.caption: result.caption,
               ui.page_ids: [ex.id for ex in result.examples]}
        for index, slot in enumerate(ui.slots):
            ex = result.examples[index] if index < len(result.examples) else None
            out.update({slot.group: gr.Group(visible=ex is not None),
                        slot.title: hd.example_title(ex) if ex else "", slot.dialogue: ex.dialogue if ex else "",
                        slot.references: ex.references_text if ex else ""})
        return out

    def first_page(split_name, topic_name, text):
        return show(split_name, topic_name, text, 1)

    def go_to(split_name, topic_name, text, page, shown_page, delta=0):
        # Raw values (preprocess=False): Gradio's own minimum check would answer 0 with a red "Error"
        # toast and leave the 0 in the box; here it gets the usual warning and the box its page back.
        page, problem = hd.checked_page(page, shown_page)
        if problem:
            gr.Warning(problem)
            return {ui.page_no: page}
        return show(split_name, topic_name, text, max(1, page + delta))

    def step(delta):
        return lambda s, t, q, page, shown_page: go_to(s, t, q, page, shown_page, delta)

    def new_split(split_name, text):
        # A new split has its own topics: reset the filter, then show its first page.
        shown = first_page(split_name, ALL_TOPICS, text)
        topic = gr.Dropdown(choices=[ALL_TOPICS, *data.topics(split_name)], value=ALL_TOPICS)
        return shown if shown == gr.skip() else {ui.topic: topic, **shown}  # a refused page changes nothing

    filters = [ui.split, ui.topic, ui.query]
    # .input, not .change: only what a person does reloads the page, never our own updates.
    ui.split.input(new_split, [ui.split, ui.query], [ui.topic, *page_outputs], **QUIET)
    for trigger in (ui.topic.input, ui.query.submit):
        trigger(first_page, filters, page_outputs, **QUIET)
    pager_inputs = [*filters, ui.page_no, ui.page_shown]
    ui.prev.click(step(-1), pager_inputs, page_outputs, preprocess=False, **QUIET)
    ui.next.click(step(+1), pager_inputs, page_outputs, preprocess=False, **QUIET)
    ui.page_no.submit(go_to, pager_inputs, page_outputs, preprocess=False, **QUIET)
    ctx.demo.load(first_page, filters, page_outputs, **QUIET)
    _wire_figures(ctx, ui)


def _wire_figures(ctx: UiContext, ui: DatasetWidgets) -> None:
    """The length and topic charts follow the same filters as the pages."""
    stats = hd.DatasetStats(ctx.studio.data, ctx.studio.base.path)
    figures_out = [ui.length_plot, ui.topic_plot]

    @guarded
    def figures(split_name, topic_name, text):
        return dict(zip(figures_out, stats.figures(split_name, topic_name, text)))

    filters = [ui.split, ui.topic, ui.query]
    for trigger in (ui.split.input, ui.topic.input, ui.query.submit, ctx.demo.load):
        trigger(figures, filters, figures_out, **QUIET)


def _wire_send(ctx: UiContext, ui: DatasetWidgets) -> None:
    data = ctx.studio.data
    for index, slot in enumerate(ui.slots):
        @guarded
        def send_to_compare(split_name, ids, index=index):
            if index >= len(ids or []):
                raise ValueError("That slot is empty.")
            ex = hd.find_example(data, split_name, ids[index])
            return {ctx.dialogue: ex.dialogue, ctx.sent_example: {"dialogue": ex.dialogue,
                                                                  "references": ex.references},
                    ctx.tabs: gr.Tabs(selected="compare")}

        slot.send.click(send_to_compare, [ui.split, ui.page_ids], [ctx.dialogue, ctx.sent_example, ctx.tabs],
                        api_visibility="private")
