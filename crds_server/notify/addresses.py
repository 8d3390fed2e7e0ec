"""Lists of e-mail addresses typed by users (the ReDCaT `other_email` answer).

`parse` is strict (a form refuses a bad list); `lenient` is what the mailer uses
on stored answers, skipping whatever no longer parses rather than losing a notice.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# STScI's form asks for a comma-delimited list; semicolons and blanks separate too.
_SEPARATORS = re.compile(r"[,;\s]+")
MAX_ADDRESSES = 10
MAX_LENGTH = 254  # RFC 5321's limit of one forward path


class AddressError(ValueError):
    """A list of addresses that cannot be mailed: the message says which entry and why."""


def parse(text: str, limit: int = MAX_ADDRESSES) -> list[str]:
    """The distinct addresses of `text`, in order; AddressError for a bad one or too many."""
    found = list(dict.fromkeys(a for a in _SEPARATORS.split(str(text or "")) if a))
    if len(found) > limit:
        raise AddressError(f"At most {limit} other e-mail addresses, not {len(found)}.")
    for address in found:
        if len(address) > MAX_LENGTH:
            raise AddressError(f"'{address[:40]}...' is too long for an e-mail address.")
        try:
            validate_email(address)
        except ValidationError:
            raise AddressError(f"'{address}' is not an e-mail address.") from None
        if address.rpartition("@")[2].startswith("["):  # a bare IP address: mail to a host, not a domain
            raise AddressError(f"'{address}' names an IP address, not a mail domain.")
    return found


def lenient(text: str, limit: int = MAX_ADDRESSES) -> list[str]:
    """The valid addresses of `text`, at most `limit`, in order; never raises."""
    good = []
    for address in dict.fromkeys(a for a in _SEPARATORS.split(str(text or "")) if a):
        try:
            good += parse(address, 1)
        except AddressError:
            continue
    return good[:limit]
