"""Domain errors of the security app."""


class SecurityError(Exception):
    """A request refused by a security rule."""


class LimitExceeded(SecurityError):
    """A request asks for more work than a documented limit allows."""
