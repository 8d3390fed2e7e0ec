"""ReDCaT (Extended Batch Submit, feature S3): the questions asked of a deliverer.

The same list drives the web form, the check of the answers posted to
`/submission_form/redcat_submit/` and `/submission_form/redcat_description.yml`,
which `crds.submit.Submission` reads to learn which answers it must send
(contract §5.9).  Field by field it matches STScI's description (the sample
in the client's own tests, `test/data/rc_description.yaml`): yes/no questions
are BooleanFields (choices false/true, initial false), three-way answers are
TypedChoiceFields N/A/No/Yes, and the instrument is a choice of the
observatory's instruments as the crds library lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from crds.core import utils
from django.conf import settings
from django.contrib.auth.models import User

from crds_server.notify import addresses

from . import ingest
from .actions import instruments_of
from .errors import SubmissionError

BOOLEAN, CHAR, CHOICE = "BooleanField", "CharField", "TypedChoiceField"
THREE_WAY = ("N/A", "No", "Yes")
SHORT, LONG = 500, 5000  # characters of one answer: a line, or a paragraph or two
_TRUE, _FALSE = {"true", "on", "1", "yes"}, {"false", "off", "0", "no", ""}


@dataclass(frozen=True)
class Question:
    """One question of the form; `choices` of the instrument are the observatory's."""

    key: str
    type: str
    required: bool
    label: str
    help_text: str = ""
    choices: tuple[str, ...] = ()
    max_length: int = SHORT

    def options(self) -> tuple[str, ...]:
        if self.key == "instrument":
            return tuple(instruments())
        return self.choices

    def initial(self) -> Any:
        if self.type == BOOLEAN:
            return False
        return self.options()[0] if self.type == CHOICE else None


def _yes_no(key: str, label: str) -> Question:
    return Question(key, BOOLEAN, False, label)


def _three_way(key: str, label: str, help_text: str = "") -> Question:
    return Question(key, CHOICE, True, label, help_text, THREE_WAY)


QUESTIONS = (
    Question("deliverer", CHAR, True, "Name of deliverer", "Who are you?"),
    Question("other_email", CHAR, False, "Other e-mail addresses to send notifications",
             "Comma-delimited list (optional)", max_length=2000),
    Question("instrument", CHOICE, True,
             "Instrument  (All submitted files should match this instrument.  This instrument "
             "will be locked for your submission exclusively)"),
    Question("file_type", CHAR, True, "Type of files (Bias, Dark, etc.)"),
    _yes_no("history_updated", "Has HISTORY section in the primary header been updated to "
            "describe in detail the reason for delivery and how the files were created?"),
    _yes_no("pedigree_updated", "Has PEDIGREE keyword been checked and updated as necessary?"),
    _yes_no("keywords_checked", "Has COMMENT been checked?"),
    _yes_no("descrip_updated", "Was the DESCRIP keyword updated with a summary of why the files "
            "were updated or created?"),
    _yes_no("useafter_updated", "Has the USEAFTER keyword been checked, and if necessary, updated?"),
    _three_way("useafter_matches", "If the reference files are replacing previous versions, do "
               "the new USEAFTER dates exactly match the old ones?", "N/A for ETC Files Only"),
    _three_way("compliance_verified", "Verification for compliance complete (fits, certify, etc. "
               "or N/A)", "optional"),
    _yes_no("ingest_files", "Should the affected files be reprocessed?"),
    _yes_no("etc_delivery", "Should the files be submitted to the ETC?"),
    _yes_no("jwst_etc", "Are these JWST ETC files?"),
    Question("calpipe_version", CHAR, True, "Files run through the current version of the "
             "calibration software being used by the pipeline or PYSYNPHOT and ETC (yes/no and "
             "version number)"),
    _yes_no("replacement_files", "Are any files replacing old reference files (deliveries can be "
            "a mix of files that are or are not replacing old files) (yes/no)"),
    Question("old_reference_files", CHAR, False, "If yes, list them here", max_length=LONG),
    _three_way("replacing_badfiles", "If the files being replaced are bad, and should not be "
               "used with any data, please indicate this here"),
    Question("jira_issue", CHAR, False, 'Any JIRA issues filed in regard to the references being '
             'delivered (e.g. "REDCAT-25")', "Comma-delimited list (optional)"),
    Question("table_rows_changed", CHAR, False, "If files are tables, please indicate exactly "
             "which rows have changed", max_length=LONG),
    Question("modes_affected", CHAR, True, "Please indicate which modes (e.g. all the STIS, "
             "FUVMAMA, E140L modes) are affected by the changes in the files", max_length=LONG),
    Question("correctness_testing", CHAR, True, "Description of how the files were tested for "
             "correctness", max_length=LONG),
    Question("additional_considerations", CHAR, False, "Additional considerations",
             max_length=LONG),
)
KEYS = tuple(q.key for q in QUESTIONS)


def instruments() -> list[str]:
    """The instruments of settings.OBSERVATORY, as the crds library names them."""
    return list(utils.get_observatory_package(settings.OBSERVATORY).INSTRUMENTS)


def description() -> list[dict[str, Any]]:
    """The form description: one entry per question, with the keys the client reads."""
    entries = []
    for q in QUESTIONS:
        entry: dict[str, Any] = {"key": q.key, "type": q.type, "required": q.required,
                                 "label": q.label}
        if q.help_text:
            entry["help_text"] = q.help_text
        if q.type == BOOLEAN:
            entry.update(choices=[False, True], initial=False)
        elif q.type == CHOICE:
            entry.update(choices=list(q.options()), initial=q.initial())
        entries.append(entry)
    return entries


def description_yaml() -> str:
    """The form description as YAML, laid out as STScI's (keys of each entry sorted)."""
    return yaml.safe_dump(description(), default_flow_style=None)


def clean(data: Mapping[str, Any]) -> dict[str, str]:
    """The answers of a posted form, checked and in canonical form; SubmissionError otherwise.

    Booleans become "True"/"False" (what the client sends; an unticked box is
    absent), choices take their canonical spelling, text is stripped and
    bounded, and other_email must be a short list of e-mail addresses.
    """
    return {q.key: _answer(q, data.get(q.key)) for q in QUESTIONS}


def _answer(q: Question, raw: Any) -> str:
    value = str(raw if raw is not None else "").strip()
    if q.type == BOOLEAN:
        if value.lower() not in _TRUE | _FALSE:
            raise SubmissionError(f"'{q.key}' must be true or false, not '{value[:40]}'.")
        return str(value.lower() in _TRUE)
    if q.required and not value:
        raise SubmissionError(f"'{q.key}' is required: {q.label}")
    if len(value) > q.max_length:
        raise SubmissionError(f"'{q.key}' is longer than {q.max_length} characters.")
    if q.type == CHOICE:
        matches = [c for c in q.options() if c.lower() == value.lower()]
        if not matches:
            raise SubmissionError(f"'{q.key}' must be one of {', '.join(q.options())}, "
                                  f"not '{value[:40]}'.")
        return matches[0]
    if q.key == "other_email":
        try:
            return ", ".join(addresses.parse(value))
        except addresses.AddressError as exc:
            raise SubmissionError(f"'other_email': {exc}") from None
    return value


def check_instrument(user: User, instrument: str) -> None:
    """SubmissionError unless every file of the user's ingest area belongs to `instrument`."""
    others = [i for i in instruments_of(ingest.ingest_paths(user)) if i != instrument.lower()]
    if others:
        raise SubmissionError(f"The instrument is '{instrument}' but the ingest area holds files "
                              f"of {', '.join(others)}: submit one instrument at a time.")


def answers(extra: Mapping[str, Any], instrument: str = "") -> list[tuple[str, str, str]]:
    """(key, label, answer) of the questions a submission answered, in the form's order.

    `extra` is the submission's extra answers (the instrument is stored in its
    own column); a submission that answered no question gives [].
    """
    if not any(key in extra for key in KEYS):
        return []
    given = {**extra, "instrument": instrument or extra.get("instrument", "")}
    return [(q.key, q.label, _shown(q, given.get(q.key))) for q in QUESTIONS if q.key in given]


def _shown(q: Question, value: Any) -> str:
    if q.type == BOOLEAN:
        return "Yes" if str(value).lower() in _TRUE else "No"
    return str(value or "")
