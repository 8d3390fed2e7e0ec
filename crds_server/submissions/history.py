"""Submission History (S13): who may see which submissions, and the history's filters."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from crds_server.accounts.actions import has_role

from .models import Submission

STATUSES = (Submission.QUEUED, Submission.PROCESSING, Submission.READY, *Submission.FINAL)


def visible(user: AbstractBaseUser) -> QuerySet[Submission]:
    """Everyone's submissions for operators, one's own for submitters, none for visitors."""
    rows = Submission.objects.select_related("user")
    if has_role(user, "operator"):
        return rows
    return rows.filter(user=user) if user.is_authenticated else rows.none()


def filtered(rows: QuerySet[Submission], filters: dict[str, Any]) -> QuerySet[Submission]:
    """`rows` narrowed by the checked filters: instrument, status, start and stop dates (both ends
    included, whole days, UTC)."""
    if filters.get("instrument"):
        rows = rows.filter(pk__in=_of_instrument(rows, filters["instrument"]))
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    if filters.get("start"):
        rows = rows.filter(created__gte=_day(filters["start"]))
    if filters.get("stop"):
        rows = rows.filter(created__lt=_day(filters["stop"]) + datetime.timedelta(days=1))
    return rows.order_by("-created")


def _day(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)


def _of_instrument(rows: QuerySet[Submission], instrument: str) -> list[Any]:
    """Ids of the submissions of `instrument`: its own, or one of the several a submission took.

    Read in Python (two small columns per submission) so that every database backend answers
    alike: SQLite has no JSON containment lookup.
    """
    return [pk for pk, one, several in rows.values_list("pk", "instrument", "instruments")
            if instrument == one or instrument in (several or [])]
