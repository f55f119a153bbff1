"""`python -m grader`: see grader.cli.

`python -m` puts the working directory first on the import path, and in a student's checkout
that folder is the student's. Once the grader package itself is loaded, the rest of it comes
from the package and the standard library from where it belongs: a file the checkout adds
(`json.py`, say) is never imported by the grader.
"""

import os
import signal
import sys

sys.path[:] = [entry for entry in sys.path if entry not in ("", os.getcwd())]

# Ctrl-C (SIGINT) stops every command cleanly (the watcher its grading, a grading its suite),
# even where the shell that started this one left SIGINT ignored, as a script does for a
# command it runs in the background, and Python would keep it ignored. Handled here, it is
# back to the default in every process this one starts.
signal.signal(signal.SIGINT, signal.default_int_handler)

from grader.cli import main  # noqa: E402 - after the path is cleaned

raise SystemExit(main())
