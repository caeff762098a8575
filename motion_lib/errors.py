"""The one exception type for mistakes a user can fix (bad input file, unknown name, bad config).

`run.py` catches it and prints its message as a single sentence instead of a traceback.
"""


class UserInputError(ValueError):
    """Input from the user (a file, a config value, an argument) is wrong; the message says what and where."""
