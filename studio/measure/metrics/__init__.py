"""The studio's metrics as local `evaluate` modules, loadable offline with `evaluate.load(path)`.

    import evaluate
    from studio.measure.metrics import STUDIO_ROUGE
    rouge = evaluate.load(STUDIO_ROUGE)              # a folder on disk: no hub look-up
    rouge.compute(predictions=["..."], references=[["ref a", "ref b"]])
"""
from importlib import resources

# evaluate.load takes a folder holding <name>/<name>.py; a regular install keeps package
# files on disk, so the package folder itself is that path.
STUDIO_ROUGE = str(resources.files(__name__) / "studio_rouge")
