"""``python -m grading``: see :mod:`grading.cli`."""
import sys

from grading.cli import main

if __name__ == "__main__":  # not when a worker process re-imports the main module
    sys.exit(main())
