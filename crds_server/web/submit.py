"""Submission pages: certify, batch / reference / mapping submit, delete / add references, results,
confirm (ReDCaT: `redcat`).

Every form is a "repost" page (GET sets the csrftoken cookie, POST submits) as
`crds submit` expects (contract §5.4).  Errors are shown in a
``<div id="error_message">`` with a 4xx status; without an error that element
does not exist at all (§5.6).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import ensure_csrf_cookie

from crds_server.accounts.actions import has_role
from crds_server.jobs import jpoll
from crds_server.locks.errors import LockError
from crds_server.submissions import actions
from crds_server.submissions.errors import ReplicaRefusal, SubmissionError
from crds_server.submissions.models import Submission

from . import submit_results as results
from .context_picker import ContextPickerField

LOG_PAGE = 500  # log lines a page or one answer of its JSON log carries

TITLES = {"batch": "Batch Submit References", "references": "Submit References",
          "mappings": "Submit Mappings", "certify": "Certify Files", "redcat": "Extended Batch Submit",
          "delete": "Delete References", "add": "Add References"}
# What each page does, in the feature map's terms (S2, S4, S8-S11), shown above its form.
HELP = {
    "batch": "Certifies the references, inserts them into new rmaps of the derive-from context and "
             "writes the new imaps and pmap; confirming makes that pmap the edit context.",
    "references": "Certifies and delivers the references alone, with no new rules: they stay "
                  "orphans until a mapping submission or Add References refers to them.",
    "mappings": "For hand-edited rules. With Generate Contexts, new imaps and a new pmap are "
                "written for the submitted rmaps and confirming makes that pmap the edit context. "
                "Without it the mappings (rmaps, imaps or pmaps, each naming only files in CRDS or "
                "in this submission) are delivered as they are, and the context is set by hand.",
    "certify": "Certifies the files against the comparison context; nothing is submitted and the "
               "files stay in your ingest area.",
    "delete": "Writes new rmaps without the named references, and new imaps and pmap. The files "
              "stay in CRDS (older contexts still use them); confirm or cancel follows.",
    "add": "Inserts references already in CRDS into the rmaps of the derive-from context, with new "
           "imaps and pmap: to undo a Delete References or bring files back from a branch.",
}


class SubmitForm(forms.Form):
    """The fields `crds submit` posts (contract §5.4); others (ReDCaT) pass through."""

    pmap = ContextPickerField(label="Derive from context")  # posts pmap_mode / pmap_menu / pmap_text
    pmap_name = forms.CharField(required=False, widget=forms.HiddenInput)
    instrument = forms.CharField(required=False, initial="none")
    change_level = forms.ChoiceField(choices=[(c, c) for c in ("SEVERE", "MODERATE", "TRIVIAL")])
    creator = forms.CharField(required=False, label="Creator (author of the files)")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    comparison_context = forms.CharField(
        required=False, max_length=128, label="Comparison context",
        help_text="The .pmap (or latest, edit, operational) the files are certified against, as "
                  "crds certify --comparison-context; empty: the derive-from context.")
    auto_rename = forms.BooleanField(required=False, initial=True)
    compare_old_reference = forms.BooleanField(
        required=False, initial=True,
        help_text="Compare tables with the files they replace in the comparison context "
                  "(rows removed, modes dropped).")


class MappingsForm(SubmitForm):
    """Submit Mappings (S9): the submit fields and the Generate Contexts checkbox."""

    generate_contexts = forms.BooleanField(required=False, initial=True, label="Generate contexts")


class DeletedForm(forms.Form):
    """Delete References (S10): names of references in CRDS, derive-from context, description."""

    deleted_files = forms.CharField(
        label="Deleted files", widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Names of references in CRDS, separated by spaces, commas or newlines.")
    pmap = SubmitForm.base_fields["pmap"]
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class AddedForm(forms.Form):
    """Add References (S11): names of references in CRDS, derive-from context, description."""

    added_files = forms.CharField(
        label="Added files", widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Names of references in CRDS, separated by spaces, commas or newlines.")
    pmap = SubmitForm.base_fields["pmap"]
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


FORMS = {"mappings": MappingsForm, "delete": DeletedForm, "add": AddedForm}


def _form(kind: str, data=None) -> forms.Form:
    return FORMS.get(kind, SubmitForm)(data)


def _context(kind: str, form: forms.Form, **more) -> dict:
    return {"form": form, "kind": kind, "title": TITLES[kind], "help": HELP.get(kind, ""),
            "named": kind in actions.NAMED_KINDS, **more}


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, f"web/{template}", context, status=status)


def _refuse(request: HttpRequest, kind: str, message: str, status: int) -> HttpResponse:
    form = _form(kind, request.POST or None)
    return _page(request, "submit_form.html", _context(kind, form, error=message), status)


@ensure_csrf_cookie
def submit_view(request: HttpRequest, kind: str,
                refuse: Callable[[str, int], HttpResponse] | None = None,
                answers: dict[str, str] | None = None) -> HttpResponse:
    """The submit pages' GET and POST; `refuse(message, status)` renders a refused POST
    (default: this kind's form) so a page with more fields keeps its answers; `answers`
    are the checked ReDCaT answers the submission keeps."""
    if not has_role(request.user, "submitter"):
        return _refuse(request, kind, "Log in as a submitter first.", 403)
    if request.method != "POST":
        ingest = [] if kind in actions.NAMED_KINDS else _ingest(request)
        return _page(request, "submit_form.html", _context(kind, _form(kind), ingest=ingest))
    refuse = refuse or (lambda message, status: _refuse(request, kind, message, status))
    _give_a_channel(request)
    try:
        submission = actions.start(request.user, "batch" if kind == "redcat" else kind,
                                   request.POST.dict(), request.session.session_key or "", answers)
    except (LockError, ReplicaRefusal) as exc:
        # 200 with the error div: of a 4xx answer `crds submit` prints only the status
        # (contract §5.6), and its user must learn who holds the instrument (or where to submit).
        return refuse(str(exc), 200)
    except SubmissionError as exc:
        return refuse(str(exc), 400)
    return _page(request, "submit_started.html", {"submission": submission,
                                                   "url": actions.result_url(submission),
                                                   **_live_log(submission)})


def _give_a_channel(request: HttpRequest) -> None:
    """A browser posts the form without opening a jpoll channel (`crds submit` opens one
    just before): give its session a fresh one, so the page can follow the job's log."""
    if not request.session.session_key:
        request.session.save()
    key = jpoll.session_channel(request.session.session_key)
    if not key or Submission.objects.filter(channel_key=key).exists():
        jpoll.open_channel(request.session.session_key, request.user.username)


def _live_log(submission: Submission) -> dict:
    """The first lines of the submission's log and where its page reads the next ones."""
    lines = jpoll.pull(submission.channel_key, 0, LOG_PAGE) if submission.channel_key else []
    return {"progress": lines, "last_id": lines[-1]["id"] if lines else 0,
            "finished": any(m["type"] == "done" for m in lines),
            "log_url": reverse("web-submission-log", args=[submission.id]),
            "page_url": reverse("web-display-result", args=[submission.id])}


def _ingest(request: HttpRequest) -> list[dict]:
    from crds_server.submissions import ingest

    return ingest.list_files(request.user)


def batch_submit(request: HttpRequest) -> HttpResponse:
    return submit_view(request, "batch")


def submit_references(request: HttpRequest) -> HttpResponse:
    return submit_view(request, "references")


def submit_mappings(request: HttpRequest) -> HttpResponse:
    return submit_view(request, "mappings")


def certify(request: HttpRequest) -> HttpResponse:
    return submit_view(request, "certify")


def delete_references(request: HttpRequest) -> HttpResponse:
    return submit_view(request, "delete")


def add_references(request: HttpRequest) -> HttpResponse:
    return submit_view(request, "add")


def _visible(request: HttpRequest, results_id) -> Submission | None:
    """The submission, if this user is its submitter or an operator (else None)."""
    submission = Submission.objects.select_related("user").filter(pk=results_id).first()
    if submission is None:
        raise Http404("No such submission.")
    if submission.user_id != request.user.pk and not has_role(request.user, "operator"):
        return None
    return submission


@ensure_csrf_cookie
def display_result(request: HttpRequest, results_id) -> HttpResponse:
    """The results page: the live log while processing; new names, reports and diffs when ready.

    Only the submitter (as whom `crds submit` reads it, contract §5.7) and
    operators see it; anyone else logged in gets 403, an anonymous visitor the login page.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    submission = _visible(request, results_id)
    if submission is None:
        return _page(request, "message.html", {
            "title": "Not your submission",
            "message": "Only the submitter and operators can see the results of a submission."},
            status=403)
    return _page(request, "display_result.html", {
        "submission": submission, "result": submission.result, **_live_log(submission),
        "certified": results.certify_rows(submission), "diffs": results.diff_tables(submission),
        "collisions": actions.collisions(submission, request.user) if submission.status == "ready" else [],
        "can_confirm": submission.status == "ready" and not submission.result.get("certify_only"),
        "refresh": submission.status in ("queued", "processing"),
    })


def submission_log(request: HttpRequest, results_id) -> JsonResponse:
    """GET ?since_id=N: the next lines (at most LOG_PAGE) of a submission's log, as JSON,
    for its submitter and operators; `more` says another page is waiting."""
    if request.method != "GET":
        return _log_answer({"error": "GET only."}, 405)
    if not request.user.is_authenticated:
        return _log_answer({"error": "Log in first."}, 403)
    since = request.GET.get("since_id", "0")
    if not (since.isascii() and since.isdigit() and len(since) <= 18):
        return _log_answer({"error": "since_id must be a message id (a whole number)."}, 400)
    try:
        submission = _visible(request, results_id)
    except Http404:
        return _log_answer({"error": "No such submission."}, 404)
    if submission is None:
        return _log_answer({"error": "Only the submitter and operators can read this log."}, 403)
    lines = jpoll.pull(submission.channel_key, since, LOG_PAGE + 1) if submission.channel_key else []
    return _log_answer({"status": submission.status, "messages": lines[:LOG_PAGE],
                        "more": len(lines) > LOG_PAGE,
                        "done": any(m["type"] == "done" for m in lines[:LOG_PAGE]),
                        "result_url": reverse("web-display-result", args=[submission.id])})


def _log_answer(body: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    patch_cache_control(response, private=True, no_store=True)
    return response


def confirm(request: HttpRequest) -> HttpResponse:
    """POST results_id and button=confirm|cancel|force (contract §5.7)."""
    if request.method != "POST":
        return HttpResponse("POST results_id and button.", status=405, content_type="text/plain")
    button = request.POST.get("button", "")
    results_id = request.POST.get("results_id", "")
    try:
        if button in ("confirm", "force"):
            submission = actions.confirm(request.user, results_id, force=button == "force")
        elif button == "cancel":
            submission = actions.cancel(request.user, results_id)
        else:
            raise SubmissionError(f"Unknown button '{button}': use confirm, cancel or force.")
    except (SubmissionError, ValueError) as exc:
        return _page(request, "confirmed.html", {"error": str(exc)}, status=400)
    return _page(request, "confirmed.html", {"submission": submission, "result": submission.result})
