"""What the tabs do, as plain Python: typed values in, text, tables and figures out.

    from studio.ui.handlers import train as ht
    cfg, overrides = ht.train_request(ht.TrainForm(method="lora", steps=30))
    view = ht.job_view(studio, studio.job(job_id))                # the Train tab's status lines

One module per tab, each holding every section of its tab: train (the form, Start and Stop,
the job's status and loss, "Copy as command", the base model, ZeroGPU) with train_experiment
("Train all three", apart for its size), compare (summaries, the overlap views, "Can ROUGE be
fooled?"), evaluate (scores, topic groups, the forgetting probe), runs (the table and its
actions, the prompt readout, weight change, the Hub) and dataset. Shared by several:
common (input checks, formatting, the presenter rule), choices (which runs a dropdown
offers), queue (the queue board above the tabs, the "yours" mark) and notices (the header's
notes). Import a name from the module that defines it; this package re-exports nothing.

The rules: nothing here imports gradio or torch (the Studio is only named for type checks),
so every rule a user meets (the queue message, a missing method's hint, the number checks)
is tested without a browser, in milliseconds. Handlers talk to the Studio only, never to its
store, queue or pool. They raise ValueError, PermissionError, RunNotFound or QueueFull with
a message a user can act on; the tab modules turn those into on-screen warnings.
"""
