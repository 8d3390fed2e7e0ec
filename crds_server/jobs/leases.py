"""Leases (locks that expire) and schedule ticks, both rows of the shared database.

A periodic task runs under a lease named after it: the consumer running it
renews the lease every third of its length and releases it when the task
ends.  A consumer killed with a lease held blocks that task only until the
lease expires (JOB_LEASE_SECONDS, 60 by default), never until a restart.

Every consumer may run the scheduler; a tick claim (one row per task, the
last tick enqueued) lets exactly one of them enqueue a task for a given
minute, so two schedulers never run a task twice and one left alone still
runs them all.  Both live in the database, so they work on either job store.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone
from huey.exceptions import TaskLockedException

from .models import Lease, Tick

log = logging.getLogger(__name__)


class LeaseHeld(TaskLockedException):
    """Another consumer holds the lease (Huey logs the task as locked and does not retry it)."""


def lease_seconds() -> float:
    return float(getattr(settings, "JOB_LEASE_SECONDS", 60))


def new_holder() -> str:
    """A holder token that also tells an operator where the holder runs."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def take(name: str, holder: str, seconds: float | None = None,
         now: datetime.datetime | None = None) -> bool:
    """Take lease `name` for `holder` if it is free or expired; False while someone else holds it."""
    now = now or timezone.now()
    until = now + datetime.timedelta(seconds=seconds or lease_seconds())
    free = Q(holder="") | Q(expires__lt=now)
    if Lease.objects.filter(free, name=name).update(holder=holder, expires=until) == 1:
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires=until)
    except IntegrityError:
        return False  # the row exists and someone holds it (or just created it)
    return True


def renew(name: str, holder: str, seconds: float | None = None,
          now: datetime.datetime | None = None) -> bool:
    """Push the expiry of a lease `holder` still holds; False once it was lost."""
    until = (now or timezone.now()) + datetime.timedelta(seconds=seconds or lease_seconds())
    return Lease.objects.filter(name=name, holder=holder).update(expires=until) == 1


def release(name: str, holder: str) -> bool:
    """Free a lease `holder` still holds."""
    return Lease.objects.filter(name=name, holder=holder).update(holder="", expires=None) == 1


def _keep_renewed(name: str, holder: str, seconds: float, stop: threading.Event) -> None:
    try:
        while not stop.wait(seconds / 3):
            try:
                if not renew(name, holder, seconds):
                    log.warning("lease %s was lost by %s (it expired and was taken)", name, holder)
                    return
            except DatabaseError:
                log.exception("lease %s could not be renewed (retrying)", name)
    finally:
        connections.close_all()  # this thread's own connections


@contextmanager
def held(name: str, seconds: float | None = None) -> Iterator[str]:
    """Hold lease `name` for the block, renewed in the background; raises LeaseHeld if taken."""
    seconds = seconds or lease_seconds()
    holder = new_holder()
    if not take(name, holder, seconds):
        raise LeaseHeld(f"'{name}' is running elsewhere (its lease expires at most "
                        f"{seconds:g} s after its holder stops).")
    stop = threading.Event()
    renewer = threading.Thread(target=_keep_renewed, args=(name, holder, seconds, stop),
                               name=f"lease {name}", daemon=True)
    renewer.start()
    try:
        yield holder
    finally:
        stop.set()
        renewer.join(timeout=seconds)
        release(name, holder)


def leased(name: str, seconds: float | None = None) -> Callable:
    """Decorate a task so at most one copy runs at a time, under lease `name`."""
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with held(name, seconds):
                return fn(*args, **kwargs)
        return run
    return decorate


def claim_tick(name: str, tick: datetime.datetime) -> bool:
    """True for exactly one caller per task `name` and schedule tick (a minute)."""
    if Tick.objects.filter(name=name, last__lt=tick).update(last=tick) == 1:
        return True
    if Tick.objects.filter(name=name).exists():
        return False
    try:
        with transaction.atomic():
            Tick.objects.create(name=name, last=tick)
    except IntegrityError:
        return False
    return True
