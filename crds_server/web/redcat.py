"""ReDCaT pages: Extended Batch Submit and the form description `crds submit` reads.

The page asks every question of `submissions.redcat.QUESTIONS` besides the
batch fields.  A POST is checked here first (required answers, choices,
lengths, other_email, the files' instrument) and refused with the error div
before anything is queued; the checked answers, in canonical form, then replace the posted ones
and the batch submit view takes over (they, and no other field, land in `Submission.extra`).
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from crds_server.accounts.actions import has_role
from crds_server.submissions import ingest, redcat
from crds_server.submissions.errors import SubmissionError

from .submit import TITLES, SubmitForm, submit_view

_BATCH_FIELDS = [name for name in SubmitForm.base_fields if name != "instrument"]


@ensure_csrf_cookie
def redcat_submit(request: HttpRequest) -> HttpResponse:
    """GET: the form with every ReDCaT question; POST: check the answers, then submit."""
    if not has_role(request.user, "submitter"):
        return submit_view(request, "redcat")  # refuses, as every submit page does
    if request.method != "POST":
        return _page(request, redcat_form())
    try:
        answers = redcat.clean(request.POST)
        redcat.check_instrument(request.user, answers["instrument"])
    except SubmissionError as exc:
        # 200 with the error div: of a 4xx answer `crds rc_submit` prints only the status
        # (contract §5.6), and its user must learn which answer to fix.
        return _page(request, redcat_form(request.POST), str(exc))
    posted = request.POST
    request.POST = _checked_post(posted, answers)
    # A refusal after the checks (a lock held, an empty ingest area) keeps the answers too.
    kept = {key: value for key, value in answers.items() if key != "instrument"}  # its own column
    return submit_view(request, "redcat", answers=kept,
                       refuse=lambda message, status: _page(request, redcat_form(posted), message, status))


def redcat_description(request: HttpRequest) -> HttpResponse:
    """The ReDCaT form description read by `crds.submit.Submission` (contract §5.9)."""
    return HttpResponse(redcat.description_yaml(), content_type="text/yaml")


def redcat_form(data: QueryDict | None = None) -> forms.Form:
    """The batch fields, then one field per question, as the description declares it."""
    fields = {name: SubmitForm.base_fields[name] for name in _BATCH_FIELDS}
    fields.update({q.key: _field(q) for q in redcat.QUESTIONS})
    form_class = type("RedcatForm", (forms.Form,), fields)
    return form_class(data)


def _field(q: redcat.Question) -> forms.Field:
    common = {"label": q.label, "help_text": q.help_text, "required": q.required}
    if q.type == redcat.BOOLEAN:
        return forms.BooleanField(**{**common, "required": False})
    if q.type == redcat.CHOICE:
        return forms.TypedChoiceField(choices=[(c, c) for c in q.options()], initial=q.initial(),
                                      **common)
    widget = forms.Textarea(attrs={"rows": 2}) if q.max_length > redcat.SHORT else None
    return forms.CharField(max_length=q.max_length, widget=widget, **common)


def _checked_post(posted: QueryDict, answers: dict[str, str]) -> QueryDict:
    """The batch fields as posted plus the checked answers; anything else is dropped."""
    checked = QueryDict(mutable=True)
    for name in [*_BATCH_FIELDS, "csrfmiddlewaretoken"]:
        if name in posted:
            checked[name] = posted[name]
    for key, value in answers.items():
        checked[key] = value
    checked._mutable = False
    return checked


def _page(request: HttpRequest, form: forms.Form, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "web/redcat_submit.html",
                  {"form": form, "title": TITLES["redcat"], "error": error,
                   "ingest": ingest.list_files(request.user)}, status=status)
