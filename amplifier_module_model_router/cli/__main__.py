"""``python -m amplifier_module_model_router.cli``: the same as ``amplifier-model-router``."""

from .commands import main

main()
