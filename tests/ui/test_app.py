"""studio/ui/app.py: the assembled app has its tabs and its named API."""

def test_build_app_has_the_five_tabs_and_named_api(studio):
    import gradio as gr

    from studio.ui import build_app

    demo = build_app(studio)
    tabs = [block.label for block in demo.blocks.values() if isinstance(block, gr.Tab)]
    assert tabs == ["Dataset", "Train", "Compare", "Evaluate", "Runs"]
    api_names = {fn.api_name for fn in demo.fns.values()}
    assert {"summarize", "train", "stop", "evaluate", "list_runs", "job_status"} <= api_names
