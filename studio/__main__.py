"""`python -m studio ...`: see studio/cli/ for the commands."""
import sys

from .cli import main

sys.exit(main())
