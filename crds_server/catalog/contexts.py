"""Context pointers, the context history, and resolution of context specifiers.

Every RPC parameter that names a context goes through :func:`resolve`, which
accepts the forms of contract §2.1: literal mapping names, ``<obs>-<tag>``,
``<obs>-<date>``, bare dates and tags, and the instrument / type narrowed
forms ``<obs>-<instr>-<tag|date>`` and ``<obs>-<instr>-<type>-<tag|date>``
(types may contain hyphens, so specs are parsed from the right).
"""

from __future__ import annotations

import datetime
import functools
import re

from crds.core import config as crds_config
from crds.core import utils as crds_utils
from django.conf import settings
from django.db import connections, router

from . import loader
from .errors import InvalidDateBasedContext, UnknownContextError
from .models import BuildContext, ContextHistory, ContextPointer, File

TAGS = {"latest": "latest", "operational": "latest", "edit": "edit", "versions": "versions",
        "build": "build"}
_WHEN = r"(?P<when>latest|operational|edit|build|versions|" \
        r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6}\d*)?)?)?)"
SPEC_RE = re.compile(r"^(?:(?P<prefix>[a-z][a-z0-9\-]*)-)?" + _WHEN + r"$")
INSTR_RE = re.compile(r"^[a-z][a-z0-9]{1,16}$")
TYPE_RE = re.compile(r"^[a-z][a-z0-9\-]{1,32}$")


def pointer(kind: str) -> str:
    """The current context of `kind` (latest, edit, versions, build), or ''."""
    kind = TAGS.get(kind, kind)
    if kind == "build":
        return newest_build_context()
    row = ContextPointer.objects.filter(kind=kind).first()
    return row.context if row else ""


def newest_build_context() -> str:
    """The pipeline build context, shown on the home page banner ('' if none)."""
    return newest_build()[1]


def newest_build() -> tuple[str, str]:
    """(CAL_VER, context) of the home page banner (the pipeline build context), or ('', '').

    Once an operator has set a build context with or without "update banner"
    (`actions.set_context`), the banner is the context kept in the `build`
    pointer, shown with the highest version delivered with it.  Before that,
    it is the build of the highest calibration version.
    """
    chosen = ContextPointer.objects.filter(kind="build").values_list("context", flat=True).first()
    if not chosen:
        return highest_build()
    calvers = BuildContext.objects.filter(context=chosen).values_list("calver", flat=True)
    return max(calvers, key=version_key, default=""), chosen


def highest_build() -> tuple[str, str]:
    """(CAL_VER, context) of the highest calibration version, or ('', '').

    Versions compare as numbers with release candidates before their release
    (see `version_key`), so the order in which operators set them does not
    matter; of two equal spellings ("1.3", "1.3.0") the one set last wins.
    """
    builds = sorted(BuildContext.objects.all(), key=lambda b: (version_key(b.calver), b.pk))
    return (builds[-1].calver, builds[-1].context) if builds else ("", "")


def build_context(calver: str) -> str:
    """The build context of `calver`, or that of the closest earlier version."""
    wanted = version_key(calver)
    best = None
    for row in BuildContext.objects.all():
        key = version_key(row.calver)
        if key <= wanted and (best is None or key > best[0]):
            best = (key, row.context)
    if best is None:
        raise UnknownContextError(f"No build context is defined for calibration version '{calver}'.")
    return best[1]


_VERSION_RE = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?[.\-_]?(.*)", re.IGNORECASE)
_PRE_RE = re.compile(r"(dev|a|alpha|b|beta|c|rc|pre|preview)[.\-_]?(\d*)", re.IGNORECASE)
_PRE_RANK = {"dev": 0, "a": 1, "alpha": 1, "b": 2, "beta": 2, "c": 3, "rc": 3, "pre": 3, "preview": 3}


def version_key(version: str) -> tuple:
    """An ordering key of a calibration software version: "1.3" == "1.3.0" < "1.10.0".

    A development or release candidate ("1.14.0rc1", "1.14.0.dev3") sorts before
    its release, anything else after the release ("1.14.0.post1", "1.14.0+local")
    by its numbers, then its text.
    """
    match = _VERSION_RE.fullmatch(version) if isinstance(version, str) else None
    if not match or not re.fullmatch(r"[0-9][0-9A-Za-z.\-+_]{0,63}", version):
        raise InvalidDateBasedContext(f"Invalid version string '{version}'.")
    release = tuple(int(n or 0) for n in match.groups()[:3])
    rest = match.group(4)
    pre = _PRE_RE.fullmatch(rest)
    if pre:
        return (*release, 0, _PRE_RANK[pre.group(1).lower()], int(pre.group(2) or 0), "")
    if not rest:
        return (*release, 1, 0, 0, "")
    return (*release, 2, _number(rest), 0, rest)


def _number(text: str) -> int:
    digits = re.findall(r"\d+", text)
    return int(digits[0]) if digits else 0


def context_at(moment: datetime.datetime) -> str:
    """The latest context in force at `moment`, from the context history."""
    era = ContextHistory.objects.filter(start_date__lte=moment).order_by("-start_date", "-id").first()
    if era is None:
        raise InvalidDateBasedContext(
            f"No context was latest at {moment:%Y-%m-%d %H:%M:%S}: the history starts later."
        )
    return era.context


def parse_date(text: str) -> datetime.datetime:
    try:
        stamp = datetime.datetime.fromisoformat(text.replace("T", " "))
    except ValueError as exc:
        raise InvalidDateBasedContext(f"Invalid date '{text}' in context specification.") from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.UTC)
    return stamp


def require_mapping(name: str) -> str:
    """Check that `name` is a catalogued mapping (not a pending one) and return it.

    Every RPC naming a context asks this: the ORM's query is compiled once per
    database and run with the name as its parameter (building it each time was
    most of a single `get_best_references` call's time on the server).
    """
    alias = router.db_for_read(File)
    sql, compiled, slot = _mapping_query(alias)
    params = list(compiled)  # a copy: the compiled one is shared by every thread
    params[slot] = str(name)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    if found is None:
        raise UnknownContextError(f"Unknown context or mapping '{name}'.")
    return name


_NAME_SLOT = "(the mapping name)"


@functools.cache
def _mapping_query(alias: str) -> tuple[str, tuple, int]:
    """(SQL, parameters, index of the name among them) of the public-mapping lookup on `alias`."""
    query = File.objects.public().filter(name=_NAME_SLOT, type=File.MAPPING).values_list("pk")[:1]
    sql, params = query.query.get_compiler(alias).as_sql()
    return sql, tuple(params), list(params).index(_NAME_SLOT)


def resolve(spec: object, observatory: str | None = None) -> str:
    """Resolve a context specifier to a literal mapping name (or 'N/A')."""
    if not isinstance(spec, str) or not spec:
        raise InvalidDateBasedContext(f"Invalid context specification {spec!r}: expected a string.")
    spec = spec.strip()
    if crds_config.is_mapping(spec):
        return require_mapping(spec)
    match = SPEC_RE.match(spec)
    if not match:
        raise InvalidDateBasedContext(f"Invalid CRDS context specification '{spec}'.")
    obs, instrument, filekind = _split_prefix(match.group("prefix"), spec)
    if observatory and observatory != obs:
        raise InvalidDateBasedContext(f"Context '{spec}' is not for observatory '{observatory}'.")
    when = match.group("when")
    pmap = pointer(when) if when in TAGS else context_at(parse_date(when))
    if not pmap:
        raise UnknownContextError(f"The server has no '{when}' context defined.")
    return _narrow(pmap, instrument, filekind, spec)


def _split_prefix(prefix: str | None, spec: str) -> tuple[str, str | None, str | None]:
    obs = settings.OBSERVATORY
    if not prefix:
        return obs, None, None
    parts = prefix.split("-")
    if parts[0] != obs:
        raise InvalidDateBasedContext(
            f"Bad observatory '{parts[0]}' in CRDS date based context specification."
        )
    instrument = parts[1] if len(parts) > 1 else None
    filekind = "-".join(parts[2:]) or None
    if instrument is not None and (not INSTR_RE.match(instrument) or instrument not in instruments()):
        # Checked before any date is resolved: a date before the history must not hide it.
        raise InvalidDateBasedContext(
            f"Bad instrument '{instrument}' in CRDS date based context specification."
        )
    if filekind is not None and not TYPE_RE.match(filekind):
        raise InvalidDateBasedContext(f"Bad type '{filekind}' in CRDS date based context specification.")
    return obs, instrument, filekind


def instruments() -> list[str]:
    """The instruments of the server's observatory, as the crds library knows them."""
    return list(crds_utils.get_observatory_package(settings.OBSERVATORY).INSTRUMENTS)


def _narrow(pmap: str, instrument: str | None, filekind: str | None, spec: str) -> str:
    if instrument is None:
        return pmap
    context = loader.get_mapping(pmap)
    if instrument not in context.selections:
        raise InvalidDateBasedContext(
            f"Bad instrument '{instrument}' in CRDS date based context specification."
        )
    imap = context.selections[instrument]
    if filekind is None:
        return imap.basename
    if filekind not in imap.selections:
        raise InvalidDateBasedContext(
            f"Bad filekind '{filekind}' in CRDS date based context specification."
        )
    rmapping = imap.selections[filekind]
    return rmapping if isinstance(rmapping, str) else rmapping.basename


def history() -> list[list[str]]:
    """The context history, oldest first: [start_date, context, description]."""
    return [
        [format_date(era.start_date), era.context, era.description]
        for era in ContextHistory.objects.all()
    ]


def format_date(stamp: datetime.datetime | None) -> str:
    """One date format everywhere, so that strings sort in time order."""
    if stamp is None:
        return "none"
    stamp = stamp.astimezone(datetime.UTC).replace(tzinfo=None)
    return stamp.strftime("%Y-%m-%d %H:%M:%S")
