"""The one exception type that entry points turn into a one-line message and exit code 2."""


class UserError(Exception):
    """A problem the user can fix (bad input file, bad flag, mismatched checkpoint).

    The message is one line that names the problem and the fix; `cli.run_main`
    prints it without a traceback.
    """
