"""System checks for a safe production configuration (ids crds_server.security.E0xx/W0xx).

They are registered for every command that runs system checks, not only
`check --deploy`: `crds-server run`, `run_huey`, `createuser`, `migrate`, ...
stop on an error.  `init` and `demo` skip them, since they create the secret
key the first check asks for.  `wsgi.py` and `run` also call
`refuse_unsafe_start`, so no server starts past an error, even one started
with checks skipped.

- E001  test/ops without a secret key of its own (or with a well-known one)
- E002  test/ops without an explicit ALLOWED_HOSTS
- W001  test/ops with ALLOWED_HOSTS `*`
- W002  test/ops with the data directory, database, job store, secret key or
        backups open to other users (security/modes.py says which modes)
- W003  ops with a public URL that is not https (no Secure cookies, no HSTS)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register, run_checks
from django.core.exceptions import ImproperlyConfigured

from . import modes

PROTECTED_USECASES = ("test", "ops")
# Keys anyone can read: the dev fallback and the example env file's placeholder.
_KNOWN_KEYS = ("insecure-dev-key", "CHANGE-ME")


def _protected() -> bool:
    return settings.USECASE in PROTECTED_USECASES


@register(Tags.security)
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E001: a test or ops server signs sessions and CSRF tokens with a key of its own."""
    if not _protected():
        return []
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses an empty key
        key = ""
    if key and not any(known in key for known in _KNOWN_KEYS):
        return []
    problem = "has no secret key" if not key else "uses a well-known secret key"
    return [Error(
        f"This {settings.USECASE} server {problem}.",
        hint=f"Set CRDS_SERVER_SECRET_KEY to a long random string, or run `crds-server init` "
             f"to create {Path(settings.HOME) / 'run' / 'secret_key'}.",
        id="crds_server.security.E001",
    )]


@register(Tags.security)
def check_allowed_hosts(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E002/W001: a test or ops server answers only the host names it is reached by."""
    if not _protected():
        return []
    if not settings.ALLOWED_HOSTS:
        return [Error(
            f"This {settings.USECASE} server has no ALLOWED_HOSTS.",
            hint="Set CRDS_SERVER_ALLOWED_HOSTS to the comma-separated host names clients use "
                 "(the host of CRDS_SERVER_PUBLIC_URL).",
            id="crds_server.security.E002",
        )]
    if "*" in settings.ALLOWED_HOSTS:
        return [Warning(
            "CRDS_SERVER_ALLOWED_HOSTS is '*': any Host header is accepted.",
            hint="Name the host names clients use.",
            id="crds_server.security.W001",
        )]
    return []


def private_paths() -> list[tuple[Path, int]]:
    """(path, widest mode) of every private path of this server: HOME, secrets, SQLite files."""
    databases = []
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3" and str(db["NAME"]) not in ("", ":memory:"):
        databases.append(Path(db["NAME"]))
    if settings.HUEY.get("filename"):
        databases.append(Path(settings.HUEY["filename"]))
    return modes.private_paths(Path(settings.HOME), databases)


@register(Tags.security)
def check_file_modes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W002: no other local user can read the database, the job store, the key or the backups."""
    if not _protected():
        return []
    return [Warning(
        f"{path} is open to other users (mode {path.stat().st_mode & 0o777:o}).",
        hint="Run `crds-server init` again (it tightens the modes) or chmod it "
             "(HOME 750, run/ and backups/ 700, databases and the key 600).",
        id="crds_server.security.W002",
    ) for path in modes.too_open(private_paths())]


@register(Tags.security)
def check_https(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W003: an ops server is reached over TLS."""
    if settings.USECASE != "ops" or settings.HTTPS:
        return []
    return [Warning(
        f"CRDS_SERVER_PUBLIC_URL {settings.PUBLIC_URL} is not https: cookies are not Secure "
        "and browsers get no HSTS.",
        hint="Serve the site through a TLS proxy (deploy/nginx-crds-server.conf) and set an "
             "https public URL.",
        id="crds_server.security.W003",
    )]


def refuse_unsafe_start() -> None:
    """Raise ImproperlyConfigured, naming every failed security check, instead of serving."""
    errors = [message for message in run_checks(tags=[Tags.security])
              if message.is_serious() and not message.is_silenced()]
    if errors:
        raise ImproperlyConfigured("Refusing to start: " + "\n".join(str(error) for error in errors))
