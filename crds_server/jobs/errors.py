"""Errors of the job log."""


class ChannelNotFound(Exception):
    """The client polls a channel that does not exist (yet): it waits and polls again."""


class JobAborted(Exception):
    """An external agent asked the job writing to a channel to stop."""
