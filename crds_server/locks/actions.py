"""Instrument locks: take at login or at submit, renew on every action, release at logout.

A lock row is unique per instrument, so two logins (or submissions) racing
for one instrument cannot both win: the database refuses the second insert.

The rules (enforced where the action happens, not only at login):

- login with an instrument takes its lock (and drops any other the user held);
  login with `none` takes no lock;
- a submission may only touch instruments whose locks its submitter holds:
  `take_for_submission` takes the missing ones at submit time, all or none,
  and refuses naming the holder when another user has one;
- confirming requires the submitter to hold them still (`require`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

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


def _held_elsewhere(instrument: str, user: User) -> InstrumentLock | None:
    lock = InstrumentLock.objects.select_related("user").filter(instrument=instrument).first()
    return lock if lock is not None and lock.user_id != user.pk else None


def _taken_message(lock: InstrumentLock) -> str:
    return (f"Instrument '{lock.instrument}' is locked by '{lock.user.username}' for "
            f"{lock.time_remaining()} more; try again later or ask an operator.")


def acquire(user: User, instrument: str) -> InstrumentLock | None:
    """Give `user` the lock on `instrument` (none: no lock), dropping any other lock it held."""
    instrument = (instrument or NONE).lower()
    clear_expired()
    with transaction.atomic():
        InstrumentLock.objects.filter(user=user).exclude(instrument=instrument).delete()
        if instrument == NONE:
            return None
        held = _held_elsewhere(instrument, user)
        if held:
            raise LockError(_taken_message(held))
    try:
        with transaction.atomic():
            lock, _ = InstrumentLock.objects.update_or_create(
                user=user, instrument=instrument, defaults={"expires": _expiry()})
    except IntegrityError as exc:
        raise LockError(f"Instrument '{instrument}' was just locked by someone else.") from exc
    return lock


def take_for_submission(user: User, instruments: Iterable[str]) -> list[InstrumentLock]:
    """Hold the lock of every instrument in `instruments`, taking the missing ones: all or none.

    A lock `user` already holds is renewed; one held by another user refuses
    the whole set (naming the holder) and takes nothing.
    """
    wanted = sorted({i.lower() for i in instruments if i and i.lower() != NONE})
    clear_expired()
    try:
        with transaction.atomic():
            for instrument in wanted:
                held = _held_elsewhere(instrument, user)
                if held:
                    raise LockError(_taken_message(held))
                InstrumentLock.objects.update_or_create(
                    user=user, instrument=instrument, defaults={"expires": _expiry()})
    except IntegrityError as exc:
        raise LockError(f"One of {', '.join(wanted)} was just locked by someone else; "
                        "nothing was locked.") from exc
    return list(InstrumentLock.objects.filter(user=user, instrument__in=wanted))


def renew(user: User) -> list[InstrumentLock]:
    """Push the expiry of every live lock of `user` forward; the locks renewed."""
    now = timezone.now()
    InstrumentLock.objects.filter(user=user, expires__gt=now).update(expires=_expiry())
    return list(InstrumentLock.objects.filter(user=user, expires__gt=now))


def touch(user: User) -> int:
    """Renew `user`'s live locks on any activity (one conditional update; a lock renewed within
    the last second is left alone, so bursts of requests write once).  Returns how many moved."""
    fresh = _expiry()
    return InstrumentLock.objects.filter(
        user=user, expires__gt=timezone.now(), expires__lt=fresh - datetime.timedelta(seconds=1),
    ).update(expires=fresh)


def require(user: User, instruments: Iterable[str]) -> list[InstrumentLock]:
    """`user`'s live locks on every one of `instruments`, renewed; LockError naming what is missing."""
    wanted = sorted({i.lower() for i in instruments if i and i.lower() != NONE})
    held = {lock.instrument: lock for lock in renew(user)}
    missing = [i for i in wanted if i not in held]
    if missing:
        holders = [_held_elsewhere(i, user) for i in missing]
        detail = "; ".join(_taken_message(h) for h in holders if h)
        raise LockError(f"You no longer hold the lock on {', '.join(missing)} "
                        f"(it expired or was broken){': ' + detail if detail else ''}.")
    return [held[i] for i in wanted]


def held_instruments(user: User) -> list[str]:
    """The instruments `user` holds live locks on."""
    return sorted(InstrumentLock.objects.filter(user=user, expires__gt=timezone.now())
                  .values_list("instrument", flat=True))


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
    """The locks of `username` in the shape `crds submit` reads from /lock_status/<user>/.

    The client reads one lock (`name`); a user holding several gets the first
    in `name` and all of them in `names`.
    """
    rows = list(InstrumentLock.objects.filter(user__username=username).order_by("instrument"))
    if not rows:
        return {"name": "", "status": "ok", "user": username, "is_expired": False}
    lock = rows[0]
    return {
        "name": lock.instrument, "names": [row.instrument for row in rows], "type": "instrument",
        "user": username, "is_expired": lock.expired(),
        "created_on": lock.created.strftime("%Y-%m-%d %H:%M:%S"),
        "time_remaining": lock.time_remaining(), "status": "ok",
    }
