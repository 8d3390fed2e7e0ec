"""`submission|redcat_answers`: a submission's ReDCaT answers for web/redcat_answers.html."""

from __future__ import annotations

from django import template

from crds_server.submissions import redcat

register = template.Library()


@register.filter
def redcat_answers(submission) -> list[tuple[str, str, str]]:
    """(key, label, answer) of the questions the submission answered; [] for a plain batch."""
    return redcat.answers(submission.extra or {}, submission.instrument)
