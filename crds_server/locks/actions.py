"""Instrument locks: take at login, renew on every action, release at logout.

A lock row is unique per instrument and per user, so two logins racing for
one instrument cannot both win: the database refuses the second insert.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from crds_server.catalog.models import AuditEntry

from .errors import LockError
from .models import InstrumentLock

NONE = "none"


def _expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=settings.LOCK_HOURS)


def acquire(user: User, instrument: str) -> InstrumentLock | None:
    """Give `user` the lock on `instrument` (none: no lock), dropping any lock it held."""
    instrument = (instrument or NONE).lower()
    clear_expired()
    with transaction.atomic():
        InstrumentLock.objects.filter(user=user).exclude(instrument=instrument).delete()
        if instrument == NONE:
            return None
        held = InstrumentLock.objects.filter(instrument=instrument).first()
        if held and held.user_id != user.pk:
            raise LockError(
                f"Instrument '{instrument}' is locked by '{held.user.username}' for "
                f"{held.time_remaining()} more; try again later or ask an operator."
            )
    try:
        with transaction.atomic():
            lock, _ = InstrumentLock.objects.update_or_create(
                user=user, defaults={"instrument": instrument, "expires": _expiry()})
    except IntegrityError as exc:
        raise LockError(f"Instrument '{instrument}' was just locked by someone else.") from exc
    return lock


def renew(user: User) -> InstrumentLock | None:
    """Push the user's lock expiry forward; None if the user holds no live lock."""
    now = timezone.now()
    if InstrumentLock.objects.filter(user=user, expires__gt=now).update(expires=_expiry()) != 1:
        return None
    return InstrumentLock.objects.get(user=user)


def require(user: User, instrument: str | None = None) -> InstrumentLock:
    """The user's live lock (on `instrument` if given), renewed; LockError otherwise."""
    lock = renew(user)
    if lock is None:
        raise LockError("You hold no instrument lock (it may have expired): log in again.")
    if instrument and instrument.lower() not in (lock.instrument, NONE):
        raise LockError(f"You hold the lock on '{lock.instrument}', not on '{instrument}'.")
    return lock


def release(user: User) -> int:
    return InstrumentLock.objects.filter(user=user).delete()[0]


def break_lock(operator: User, instrument: str, reason: str) -> bool:
    """An operator removes someone's lock; recorded in the audit log."""
    with transaction.atomic():
        removed = InstrumentLock.objects.filter(instrument=instrument.lower()).delete()[0]
        if removed:
            AuditEntry.objects.create(user=operator.username, action="break lock",
                                      filename=instrument, why=reason)
    return bool(removed)


def clear_expired() -> int:
    """Remove every expired lock (the periodic job runs this every 5 minutes)."""
    return InstrumentLock.objects.filter(expires__lte=timezone.now()).delete()[0]


def status(username: str) -> dict:
    """The lock of `username` in the shape `crds submit` reads from /lock_status/<user>/."""
    lock = InstrumentLock.objects.select_related("user").filter(user__username=username).first()
    if lock is None:
        return {"name": "", "status": "ok", "user": username, "is_expired": False}
    return {
        "name": lock.instrument, "type": "instrument", "user": username,
        "is_expired": lock.expired(), "created_on": lock.created.strftime("%Y-%m-%d %H:%M:%S"),
        "time_remaining": lock.time_remaining(), "status": "ok",
    }
