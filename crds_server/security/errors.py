"""Domain errors of the security app."""


class SecurityError(Exception):
    """A request refused by a security rule."""


class LimitExceeded(SecurityError):
    """A request asks for more work than a documented limit allows."""


class PipelineKeyError(SecurityError):
    """An operator's pipeline-key request that cannot be done (bad name, key exists, none to revoke)."""


class UnknownPipelineKey(SecurityError):
    """A pushed key that is not an active pipeline key."""
