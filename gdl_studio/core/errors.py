"""Errors that carry a one-line message for the user (CLI exit code 2, a dialog in the app)."""


class UserError(Exception):
    """Bad input from the user: a clear one-line message, never a traceback."""
