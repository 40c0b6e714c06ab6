"""The one error the launcher raises: a sentence saying what failed and what to do about it."""


class InfraError(Exception):
    """Infrastructure could not be brought to the requested state.

    The message is meant for an operator's terminal: one line, what failed, what to do.
    """
