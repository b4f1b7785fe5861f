"""The ways of fine-tuning the studio compares: one module each (full_tuning, lora, prompt_tuning), the shape
they share (method.py) and the registry that lists them (registry.py). Re-exports nothing: import the module
you mean, usually `from studio.model.methods import registry`."""
