"""Domain errors of deliveries.  The class name leads every RPC error message."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base of every error a delivery to the archive reports to a user."""


class UndeliverableFiles(DeliveryError):
    """Files that cannot be delivered: unknown, missing from the store, or not `uploaded`."""


class UnknownDelivery(DeliveryError):
    """A delivery number the server does not know."""


class DeliveryInProgress(DeliveryError):
    """A delivery the archive is still working on, which cannot be redelivered now."""


class DeliveryAreaMissing(DeliveryError):
    """The deliveries directory does not exist (e.g. its cross-mount is down)."""
