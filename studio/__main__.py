"""`python -m studio ...`: see studio/cli.py for the commands."""
import sys

from .cli import main

sys.exit(main())
