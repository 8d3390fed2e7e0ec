"""Errors of accounts and authentication."""


class AccountError(Exception):
    """A user or token request that cannot be done."""
