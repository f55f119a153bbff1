"""`python -m grader`: see grader.cli.

`python -m` puts the working directory first on the import path, and in a student's checkout
that folder is the student's. Once the grader package itself is loaded, the rest of it comes
from the package and the standard library from where it belongs: a file the checkout adds
(`json.py`, say) is never imported by the grader.
"""

import os
import sys

sys.path[:] = [entry for entry in sys.path if entry not in ("", os.getcwd())]

from grader.cli import main  # noqa: E402 - after the path is cleaned

raise SystemExit(main())
