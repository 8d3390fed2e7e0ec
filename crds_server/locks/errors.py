"""Errors of instrument locking."""


class LockError(Exception):
    """A lock that cannot be taken, renewed or used."""
