"""Errors a user can fix, shared by the stages and the command line."""


class UserError(Exception):
    """A problem the user can fix (a bad argument, an unreadable input): one line on stderr."""
