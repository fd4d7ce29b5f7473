"""`python -m inference.training ...` entry point."""

import sys

from inference.training.cli import main

sys.exit(main())
