"""Operator pages: set a context, mark files bad or OK, break instrument locks, follow deliveries.

Every page needs a logged-in operator.  Anonymous visitors are sent to the
login page and nothing is written (the audit log is public: anyone could
otherwise fill it); a logged-in user without the role gets the 403 page and
the attempt is audited, at most once per user, page and `REFUSAL_AUDIT_SECONDS`.
The two catalog-changing pages show what will change and apply it only when
the operator confirms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from crds_server.accounts.actions import has_role
from crds_server.catalog import actions as catalog_actions
from crds_server.catalog import activation, badfiles, calvers, contexts, diffs
from crds_server.catalog.errors import CatalogError
from crds_server.catalog.models import AuditEntry, BuildContext, File
from crds_server.deliveries import actions as deliveries
from crds_server.deliveries.errors import DeliveryError
from crds_server.lib import plaintext
from crds_server.locks import actions as locks
from crds_server.locks.models import InstrumentLock
from crds_server.submissions.models import Submission

# A user refused an operator page is audited at most once per page in this many seconds.
REFUSAL_AUDIT_SECONDS = 60


def _reason_field() -> forms.CharField:
    return forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
                           label="Reason for change")


def operator_required(view: Callable) -> Callable:
    """Run `view` for operators only; send anonymous visitors to log in, refuse (403) the others."""
    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if has_role(request.user, "operator"):
            return view(request, *args, **kwargs)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        _audit_refusal(request)
        return render(request, "web/operator_refused.html", {"next": request.get_full_path()},
                      status=403)
    return guarded


def _audit_refusal(request: HttpRequest) -> None:
    """Audit a logged-in user's refused visit, unless the same user was refused this page just now."""
    since = timezone.now() - timedelta(seconds=REFUSAL_AUDIT_SECONDS)
    recent = AuditEntry.objects.filter(user=request.user.username, action="refused", date__gte=since,
                                       details__endswith=f" {request.path}")
    if not recent.exists():
        AuditEntry.objects.create(user=request.user.username, action="refused",
                                  why="operator role required",
                                  details=f"{request.method} {request.path}"[:500])


class SetContextForm(forms.Form):
    """Which context kind to move, to which .pmap, why, and whether to force an unarchived latest."""

    kind = forms.ChoiceField(choices=[(k, k) for k in catalog_actions.KINDS], label="Context type")
    context = forms.ChoiceField(label="Set to")
    calver = forms.CharField(
        max_length=64, required=False, label="CAL_VER (build only)",
        widget=forms.TextInput(attrs={"list": "calvers", "autocomplete": "off"}),
        help_text="pick a released version from the list, or type a custom one")
    update_banner = forms.BooleanField(
        required=False, label="Update home page banner / pipeline build context (build only)",
        help_text="the banner moves only to a version no older than the one it shows")
    reason = forms.CharField(
        max_length=plaintext.MAX_LENGTH, required=False, label="Reason for change",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="letters, digits, spaces and . _ / , = - + only; for a one-step change from a "
                  "confirmed submission, its description is used when left empty")
    force = forms.BooleanField(
        required=False, label="Force",
        help_text="make it latest even though some of its files are not archived yet (audited)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        pmaps = File.objects.filter(type=File.MAPPING, name__endswith=".pmap").exclude(state="uploaded")
        self.fields["context"].choices = [
            (row.name, f"{row.name} (bad)" if row.is_bad() else row.name)
            for row in pmaps.order_by("-name").only("name", "rejected", "blacklisted")]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == "build" and not data.get("calver", "").strip():
            self.add_error("calver", "A build context needs the calibration software version.")
        if self.errors:
            return data
        current = _current(data["kind"], data["calver"])
        data["reason"] = data.get("reason", "").strip() or submission_reason(data["context"], current)
        try:
            data["reason"] = catalog_actions.check_reason(data["reason"])
        except CatalogError as exc:
            self.add_error("reason", f"{exc} (it is required unless the change is one step "
                                     f"from a confirmed submission)" if not data["reason"] else str(exc))
        data["current"] = current
        return data


def submission_reason(context: str, current: str) -> str:
    """The description of the confirmed submission that made `context` from `current`, or ''.

    Only a one-step change gets it: jumps over several contexts and reversions
    must be explained by the operator (features.md O1).
    """
    if not current or context == current:
        return ""
    row = (Submission.objects.filter(status=Submission.CONFIRMED, derive_from=current,
                                     result__new_context=context)
           .order_by("-created").values_list("description", flat=True).first())
    return (row or "").strip()


@operator_required
@require_http_methods(["GET", "POST"])
def set_context(request: HttpRequest) -> HttpResponse:
    """O1-O4: preview the logical diff from the current context of a kind, then move it."""
    form = SetContextForm(request.POST or None, initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "confirm" not in request.POST:
            return _preview_context(request, form, data, data["current"])
        try:
            old = catalog_actions.set_context(request.user.username, data["context"], data["kind"],
                                              data["reason"], data["calver"] or None,
                                              expected=request.POST.get("expected", ""),
                                              force=data["force"], banner=data["update_banner"])
        except CatalogError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"The {data['kind']} context changed from '{old}' to "
                                      f"'{data['context']}'.")
            return redirect("web-set-context")
    return render(request, "web/operator_set_context.html", {
        "form": form, "current": [(k, contexts.pointer(k)) for k in catalog_actions.KINDS],
        "banner": contexts.newest_build(), "calvers": calvers.known_versions(settings.OBSERVATORY)[:200]},
        status=400 if form.errors else 200)


def _initial(request: HttpRequest) -> dict:
    """The form's first values: `?kind=&context=` or making the edit context latest, with its reason."""
    kind = request.GET.get("kind", "latest")
    kind = kind if kind in catalog_actions.KINDS else "latest"
    context = request.GET.get("context") or contexts.pointer("edit")
    reason = submission_reason(context, contexts.pointer(kind)) if kind != "build" else ""
    return {"kind": kind, "context": context, "reason": reason}


def _current(kind: str, calver: str) -> str:
    if kind == "build" and calver:
        row = BuildContext.objects.filter(calver=calver.strip()).first()
        return row.context if row else ""
    return contexts.pointer(kind)


def _preview_context(request: HttpRequest, form: SetContextForm, data: dict, current: str) -> HttpResponse:
    row = File.objects.get(name=data["context"])
    problem, waiting = "", []
    if row.is_bad() and data["kind"] in ("latest", "build"):
        problem = f"{row.name} is marked bad and cannot become the {data['kind']} context."
    elif data["kind"] == "latest":
        problem, waiting = _archive_problem(row.name, data["force"])
    try:
        pairs = diffs.mapping_difference(current, row.name) if current and current != row.name else []
    except CatalogError as exc:
        pairs, problem = [], problem or f"Cannot compare with {current}: {exc}"
    return render(request, "web/operator_set_context_confirm.html", {
        "form": form, "data": data, "current": current, "pairs": pairs, "problem": problem,
        "waiting": waiting, "banner": contexts.newest_build()})


def _archive_problem(pmap: str, force: bool) -> tuple[str, list[str]]:
    """(why it cannot be confirmed, the files not archived yet) for making `pmap` latest."""
    try:
        waiting = activation.unarchived(activation.closure(pmap))
    except CatalogError as exc:
        return str(exc), []
    if waiting and not force:
        return (f"{len(waiting)} file(s) of {pmap} are not archived yet.  Wait for the archive, "
                f"or go back and tick Force to make it latest anyway."), waiting
    return "", waiting


class MarkBadForm(forms.Form):
    """Files to mark bad or OK, and why."""

    names = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
                            label="Files", help_text="names separated by spaces, commas or lines")
    mark = forms.ChoiceField(choices=[("bad", "Bad"), ("ok", "OK")], initial="bad",
                             widget=forms.RadioSelect, label="Mark as")
    reason = _reason_field()

    def clean_names(self) -> list[str]:
        names = [n for n in re.split(r"[\s,]+", self.cleaned_data["names"]) if n]
        if not names:
            raise forms.ValidationError("Name at least one file.")
        return names


@operator_required
@require_http_methods(["GET", "POST"])
def mark_bad(request: HttpRequest) -> HttpResponse:
    """O5: preview what marking files bad (or OK) flags, spread included, then apply it."""
    form = MarkBadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if "confirm" not in request.POST:
                return _preview_bad(request, form, data)
            verb = catalog_actions.mark_ok if data["mark"] == "ok" else catalog_actions.mark_bad
            done = verb(request.user.username, data["names"], data["reason"])
        except CatalogError as exc:
            form.add_error(None, str(exc))
        else:
            changed = ", ".join(done.names()) or "nothing (the flags were already set)"
            messages.success(request, f"Marked {data['mark']}: {changed}.")
            return redirect("web-mark-bad")
    return render(request, "web/operator_mark_bad.html", {
        "form": form, "bad": File.objects.bad().order_by("name")[:500]},
        status=400 if form.errors else 200)


def _preview_bad(request: HttpRequest, form: MarkBadForm, data: dict) -> HttpResponse:
    if data["mark"] == "ok":
        plan, used = badfiles.plan_ok(data["names"]), []
    else:
        plan = badfiles.plan_bad(data["names"])
        used = badfiles.in_latest(plan.names())
    return render(request, "web/operator_mark_bad_confirm.html", {
        "form": form, "data": data, "plan": plan, "used": used, "latest": contexts.pointer("latest"),
        "direct": [n for n in plan.names() if n not in plan.spread]})


@operator_required
@require_http_methods(["GET", "POST"])
def lock_list(request: HttpRequest) -> HttpResponse:
    """The instrument locks with their time remaining; operators may break one, with a reason."""
    if request.method == "POST":
        instrument = request.POST.get("instrument", "").strip().lower()
        reason = request.POST.get("reason", "").strip()
        if not instrument or not reason:
            messages.error(request, "Give the reason for breaking the lock.")
        elif locks.break_lock(request.user, instrument, reason):
            messages.success(request, f"Lock on '{instrument}' broken.")
        else:
            messages.info(request, f"Instrument '{instrument}' was not locked.")
        return redirect("web-locks")
    rows = InstrumentLock.objects.select_related("user").order_by("instrument")
    return render(request, "web/operator_locks.html", {"locks": rows})


@operator_required
@require_http_methods(["GET", "POST"])
def delivery_list(request: HttpRequest) -> HttpResponse:
    """Deliveries the archive has not archived yet, and the most recent ones in any state;
    POST number=N redelivers a failed delivery (as `crds-server redeliver N`)."""
    if request.method == "POST":
        number = request.POST.get("number", "")
        if not (number.isascii() and number.isdigit() and len(number) <= 9):
            messages.error(request, "Name the delivery to redeliver by its number.")
            return redirect("web-deliveries")
        try:
            delivery = deliveries.redeliver(int(number), request.user.username)
        except DeliveryError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Delivery {delivery.catalog} is delivered again.")
        return redirect("web-deliveries")
    return render(request, "web/operator_deliveries.html", {
        "pending": deliveries.pending(), "recent": deliveries.recent(),
        "operator": True})
