"""The one rule for free text an operator or submitter writes into the record.

Submission descriptions, set-context reasons and mark-bad reasons end up in
the context history, audit trail, mails and the archive's delivery catalog,
so they hold only letters, digits, white space and ``. _ / , = - +`` (as
STScI's server allows), and at most `MAX_LENGTH` characters.
"""

from __future__ import annotations

import re

MAX_LENGTH = 2000
ALLOWED = re.compile(r"^[A-Za-z0-9._/,=\-+ \t\r\n]+$")  # no other white space: no control characters
ALLOWED_TEXT = "letters, digits, spaces and . _ / , = - +"


def problem(text: str, what: str) -> str | None:
    """Why the stripped, non-empty `text` (named `what` in the message) is refused, or None."""
    if len(text) > MAX_LENGTH:
        return f"The {what} is longer than {MAX_LENGTH} characters."
    if not ALLOWED.match(text):
        return f"The {what} may only hold {ALLOWED_TEXT}"
    return None
