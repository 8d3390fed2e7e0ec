"""Errors of accounts and authentication."""


class AccountError(Exception):
    """A user or token request that cannot be done."""


class LoginThrottled(AccountError):
    """Too many failed logins for this user name: wait and try again."""
