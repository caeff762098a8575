"""The one exception type for mistakes a user can fix (bad input file, unknown name, bad config).

`run.py` and the scripts catch it and end with its message as a single sentence instead of a traceback (`exit_with`).
"""

import sys


class UserInputError(ValueError):
    """Input from the user (a file, a config value, an argument) is wrong; the message says what and where."""


def exit_with(err: Exception) -> None:
    """Bad input: one sentence on stderr, exit code 2."""
    print(f"error: {err}", file=sys.stderr)
    sys.exit(2)
