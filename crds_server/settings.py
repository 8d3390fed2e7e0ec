"""Django settings, read from the environment with safe embedded defaults.

Everything a fresh clone needs lives under one data directory,
``CRDS_SERVER_HOME`` (default ``./var``): the SQLite database, the file
store (a standard CRDS cache layout) and the job storage.  Production
switches by environment only (see docs/operations.md).
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from crds_server.lib import crdsenv
from crds_server.security import modes

BASE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("CRDS_SERVER_HOME", "var")).resolve()
# Private from its first moment: the database, job store, secret key and backups live here.
modes.create_dir(HOME, modes.HOME_MODE)

# The observatory and usecase are fixed by `crds-server init` and kept in
# HOME/server.json; the environment can pre-set them for `init` itself.
_SERVER_JSON = HOME / "server.json"
_server = json.loads(_SERVER_JSON.read_text()) if _SERVER_JSON.exists() else {}
OBSERVATORY: str = _server.get("observatory", os.environ.get("CRDS_SERVER_OBSERVATORY", "hst"))
USECASE: str = _server.get("usecase", os.environ.get("CRDS_SERVER_USECASE", "dev"))

# The crds library runs inside the server in local mode on the file store.
FILE_CACHE = HOME / "file_cache"
crdsenv.configure(FILE_CACHE, OBSERVATORY)

# test and ops never fall back to a known key: left empty, Django signs nothing and the check
# crds_server.security.E001 stops every command but init and demo (which create the key file).
SECRET_KEY = os.environ.get("CRDS_SERVER_SECRET_KEY", "")
if not SECRET_KEY:
    _key_file = HOME / "run" / "secret_key"
    if _key_file.exists():
        SECRET_KEY = _key_file.read_text().strip()
    elif USECASE == "dev":
        SECRET_KEY = "insecure-dev-key"
DEBUG = os.environ.get("CRDS_SERVER_DEBUG", "0") == "1"
# The URL clients and mail readers use.  Commands run by cron or by hand often lack the
# environment: `public_url` in HOME/server.json then names it (docs/operations.md, "E-mail").
PUBLIC_URL = (os.environ.get("CRDS_SERVER_PUBLIC_URL") or _server.get("public_url")
              or "http://127.0.0.1:8000").rstrip("/")
PUBLIC_URL_CONFIGURED = bool(os.environ.get("CRDS_SERVER_PUBLIC_URL") or _server.get("public_url"))
_public = urlsplit(PUBLIC_URL)
_public_host = _public.hostname or "127.0.0.1"
# test and ops must name their hosts (check crds_server.security.E002); dev answers its
# public URL's host and the loopback names, never any host.
if "CRDS_SERVER_ALLOWED_HOSTS" in os.environ:
    ALLOWED_HOSTS = [h.strip() for h in os.environ["CRDS_SERVER_ALLOWED_HOSTS"].split(",") if h.strip()]
elif USECASE == "dev":
    _public_host = f"[{_public_host}]" if ":" in _public_host else _public_host  # an IPv6 address
    ALLOWED_HOSTS = list(dict.fromkeys([_public_host, "localhost", "127.0.0.1", "[::1]"]))
else:
    ALLOWED_HOSTS = []

# Behind TLS (an https public URL): cookies only over https, HSTS, plain-http pages redirected.
# Plain http (dev, test servers the client reaches over http) keeps cookies usable over http.
HTTPS = _public.scheme == "https"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
# `crds submit` reads the csrftoken cookie from its cookie jar (client contract 5.3).
CSRF_COOKIE_HTTPONLY = False
# A working day; `crds submit` logs in afresh every time.
SESSION_COOKIE_AGE = int(float(os.environ.get("CRDS_SERVER_SESSION_HOURS", "12")) * 3600)
CSRF_TRUSTED_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]
if HTTPS:
    # The TLS proxy sets X-Forwarded-Proto and replaces any value a client sent
    # (deploy/nginx-crds-server.conf); with an http public URL the header means nothing.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # The crds client POSTs to /json/ over plain http too and never follows a redirect of
    # a POST; load balancers probe /health on the backend port, without the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^json/", r"^health$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("CRDS_SERVER_HSTS_SECONDS", str(365 * 24 * 3600)))
    # The public host is the server's own name (hst-crds.stsci.edu): names under it are the
    # operators' too. Turn off (0) when the public URL's host is a shared parent domain.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("CRDS_SERVER_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
# HSTS preload asks browsers to hard-code a whole registrable domain (stsci.edu); its owner
# decides that once, at hstspreload.org, for every host of the domain: not one server's setting.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    # Login throttling in the database, shared by every worker (see security/throttle.py).
    "axes",
    "crds_server.jobs",
    "crds_server.accounts",
    "crds_server.catalog",
    "crds_server.locks",
    "crds_server.submissions",
    "crds_server.deliveries",
    "crds_server.notify",
    "crds_server.datasets",
    "crds_server.reprocessing",
    "crds_server.replica",
    "crds_server.rpc",
    "crds_server.web",
    "crds_server.ops",
    "crds_server.security",
]

MIDDLEWARE = [
    "crds_server.web.middleware.collapse_slashes",
    # First after the slash fix: during a restore nothing else may touch the database.
    "crds_server.web.maintenance.refuse_during_maintenance",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (it needs request.user) and before CSRF, whose check reads
    # the body: an oversized or anonymous upload is refused before a byte is spooled.
    "crds_server.security.sessions.end_revoked_token_sessions",
    # Any request of a logged-in user renews their instrument locks (the header's countdown).
    "crds_server.web.auth.renew_locks_on_activity",
    "crds_server.security.middleware.guard_request_body",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crds_server.urls"
WSGI_APPLICATION = "crds_server.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crds_server.web.context.site",
            ],
        },
    },
]

_default_db = f"sqlite:///{HOME / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(
    os.environ.get("DATABASE_URL", _default_db),
    # Keep connections between requests: opening one per request cost ~0.7 ms per call.
    conn_max_age=int(os.environ.get("CRDS_SERVER_CONN_MAX_AGE", "600")),
    conn_health_checks=True,
)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Created 0600 before SQLite opens it: its -wal and -shm journals take the file's mode.
    modes.create_database(str(DATABASES["default"]["NAME"]))
    # WAL lets readers (web) and the writer (jobs) work at once.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    import pymysql

    pymysql.version_info = (2, 2, 1, "final", 0)  # Django checks mysqlclient's version
    pymysql.install_as_MySQLdb()
    DATABASES["default"].setdefault("OPTIONS", {})["charset"] = "utf8mb4"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _cache_settings(url: str) -> dict:
    if url.startswith("redis://") or url.startswith("rediss://"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url.startswith("memcached://"):
        return {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": url[len("memcached://") :],
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "crds"}


CACHES = {"default": _cache_settings(os.environ.get("CACHE_URL", "locmem://"))}

_huey_redis = os.environ.get("HUEY_REDIS_URL", "")
HUEY = {
    # The queue's name (Redis key prefix): servers sharing one Redis need different names.
    "name": os.environ.get("CRDS_SERVER_JOB_QUEUE", f"crds-{OBSERVATORY}-{USECASE}"),
    "immediate": os.environ.get("CRDS_SERVER_JOBS_IMMEDIATE", "0") == "1",
    "consumer": {"workers": int(os.environ.get("CRDS_SERVER_JOB_WORKERS", "2")), "worker_type": "thread"},
}
if _huey_redis:
    HUEY.update({"huey_class": "crds_server.jobs.schedule.RedisHuey", "url": _huey_redis})
else:
    modes.create_dir(HOME / "run")  # the job store's home; 0700, as it holds the secret key too
    modes.create_file(HOME / "run" / "huey.db")
    HUEY.update({"huey_class": "crds_server.jobs.schedule.SqliteHuey",
                 "filename": str(HOME / "run" / "huey.db")})
# A periodic task's lease (jobs/leases.py) expires this long after its last renewal (every third
# of it): a consumer killed while running the task blocks it no longer than that.
JOB_LEASE_SECONDS = float(os.environ.get("CRDS_SERVER_JOB_LEASE_SECONDS", "60"))

AUTH_PASSWORD_VALIDATORS: list[dict] = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = HOME / "static"

# The largest JSON-RPC body: every file name of a large cache in one call is a few MB;
# the parsed JSON of a body costs several times its size in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
RPC_MAX_BODY = int(os.environ.get("CRDS_SERVER_RPC_MAX_BODY", str(16 * 1024 * 1024)))
# Contexts kept loaded per process.
CONTEXT_CACHE_SIZE = int(os.environ.get("CRDS_SERVER_CONTEXT_CACHE", "6"))
# Per-call limits of the JSON-RPC API (all of them and their defaults: security/limits.py).
RPC_MAX_BESTREFS = int(os.environ.get("CRDS_SERVER_RPC_MAX_BESTREFS", "1000"))
RPC_MAX_HEADERS = int(os.environ.get("CRDS_SERVER_RPC_MAX_HEADERS", "1000"))
RPC_MAX_DATASET_IDS = int(os.environ.get("CRDS_SERVER_RPC_MAX_DATASET_IDS", "20000"))
RPC_MAX_FILES = int(os.environ.get("CRDS_SERVER_RPC_MAX_FILES", "100000"))
FORCE_REMOTE_MODE = os.environ.get("CRDS_SERVER_FORCE_REMOTE", "0") == "1"
# Shared secret for GET /backup/latest (`crds-server mirror` on another server); unset: refused.
MIRROR_TOKEN = os.environ.get("CRDS_SERVER_MIRROR_TOKEN", "")
# A read-only replica of this server URL (docs/operations.md, "Running a site replica"): the job
# consumer follows it every 5 minutes, submissions and context changes are refused. Unset: none.
REPLICA_OF = os.environ.get("CRDS_SERVER_REPLICA_OF", "").rstrip("/")
# Parallel downloads of a catch-up, and how many of the newest contexts to keep (0: everything).
REPLICA_WORKERS = int(os.environ.get("CRDS_SERVER_REPLICA_WORKERS", "4"))
REPLICA_CONTEXTS = int(os.environ.get("CRDS_SERVER_REPLICA_CONTEXTS", "0"))
# Calibration software versions whose build contexts a replica copies (comma-separated).
REPLICA_CALVERS = tuple(v.strip() for v in os.environ.get("CRDS_SERVER_REPLICA_CALVERS", "").split(",")
                        if v.strip())

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out (user, address) before any password or token is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "crds_server.accounts.backends.TokenBackend",
]
LOGIN_URL = "/login/"
# Instrument locks last this long and every action renews them.
LOCK_HOURS = float(os.environ.get("CRDS_SERVER_LOCK_HOURS", "4"))
# Submissions not confirmed or cancelled within this time expire.
SUBMISSION_EXPIRY_HOURS = float(os.environ.get("CRDS_SERVER_SUBMISSION_EXPIRY_HOURS", "24"))
# Largest file one upload may deliver (JWST references reach several GB).
UPLOAD_MAX_BYTES = int(os.environ.get("CRDS_SERVER_UPLOAD_MAX_BYTES", str(16 * 1024**3)))
# Login failures allowed per (user name, client address) before a lockout of
# LOGIN_THROTTLE_SECONDS; every attempt during a lockout starts it again.
LOGIN_FAILURES_ALLOWED = int(os.environ.get("CRDS_SERVER_LOGIN_FAILURES", "5"))
LOGIN_THROTTLE_SECONDS = int(os.environ.get("CRDS_SERVER_LOGIN_THROTTLE_SECONDS", "900"))
AXES_FAILURE_LIMIT = LOGIN_FAILURES_ALLOWED
AXES_COOLOFF_TIME = datetime.timedelta(seconds=LOGIN_THROTTLE_SECONDS)
# Keyed by user *and* address: an attacker elsewhere cannot lock a real user out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crds_server.security.throttle.lockout_response"
AXES_HANDLER = "crds_server.security.throttle.BoundedDatabaseHandler"
# The client address is REMOTE_ADDR unless the operator names the header its proxy
# sets (e.g. X-Real-IP): a header any client can send must not choose the key.
CLIENT_IP_HEADER = os.environ.get("CRDS_SERVER_CLIENT_IP_HEADER", "")
AXES_CLIENT_IP_CALLABLE = "crds_server.security.throttle.client_address"
AXES_VERBOSE = False
SERVER_FILES = HOME / "server_files"
# Largest body a request without a login may send (login forms, pasted best-reference headers);
# bigger ones are refused with 413 before they are read (security/middleware.py).
ANONYMOUS_BODY_MAX_BYTES = int(os.environ.get("CRDS_SERVER_ANONYMOUS_BODY_MAX_BYTES", str(256 * 1024)))
# Every upload is counted while it streams (security/uploadhandlers.py).
FILE_UPLOAD_HANDLERS = ["crds_server.security.uploadhandlers.BoundedUploadHandler"]
# Uploads larger than a chunk spill to the data disk, not /tmp.
FILE_UPLOAD_TEMP_DIR = str(SERVER_FILES / "uploads") if (SERVER_FILES / "uploads").is_dir() else None
# Comma-separated addresses told about every submission (the seed's mailing lists).
NOTIFY_LIST = [a for a in os.environ.get("CRDS_SERVER_NOTIFY", "").split(",") if a]
# Affected datasets: datasets per chunk (one job each), seconds without a heartbeat
# before a chunk is handed to another consumer, tries before a chunk fails.
AFFECTED_CHUNK_SIZE = int(os.environ.get("CRDS_SERVER_AFFECTED_CHUNK", "5000"))
# A running chunk whose heartbeat is older than this is requeued by the minute's
# requeue_stale_chunks (its consumer died); heartbeats come far more often.
AFFECTED_STALE_SECONDS = float(os.environ.get("CRDS_SERVER_AFFECTED_STALE_SECONDS", "45"))
AFFECTED_HEARTBEAT_SECONDS = float(os.environ.get("CRDS_SERVER_AFFECTED_HEARTBEAT_SECONDS",
                                                  str(min(10.0, AFFECTED_STALE_SECONDS / 4))))
AFFECTED_MAX_ATTEMPTS = 3
# A CRDS cache kept current every 10 minutes (the seed's sync_ops_to_grp); empty: off.
PUBLISH_DIR = os.environ.get("CRDS_SERVER_PUBLISH_DIR", "")
DEFAULT_FROM_EMAIL = os.environ.get("CRDS_SERVER_FROM_EMAIL", f"crds-{OBSERVATORY}@localhost")

EMAIL_BACKEND = os.environ.get(
    "CRDS_SERVER_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
# The SMTP relay for the smtp backend.
EMAIL_HOST = os.environ.get("CRDS_SERVER_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("CRDS_SERVER_EMAIL_PORT", "25"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CRDS_SERVER_LOG_LEVEL", "INFO")},
    # The job consumer installs its own handler on the huey logger: print its lines once.
    "loggers": {"huey": {"propagate": False, "level": "INFO"}},
}

# Serving (docs/performance.md "Serving design", docs/operations.md "Production serving").
# A connection that moves no byte for this long is closed (a stalled download or upload);
# a transfer that keeps moving has no time limit.
IDLE_SECONDS = float(os.environ.get("CRDS_SERVER_IDLE_SECONDS", "120"))
# Seconds a connection a thread serves may move no byte before the request is fully in
# (slowloris: half-sent request heads would otherwise hold threads; web/worker.py).
HEADER_SECONDS = float(os.environ.get("CRDS_SERVER_HEADER_SECONDS", "10"))
# Production behind a proxy that sends the files itself: "X-Accel-Redirect" (nginx, with an
# `internal` location at SENDFILE_PREFIX aliased to HOME/file_cache/) or "X-Sendfile" (Apache
# mod_xsendfile, given the file's absolute path).  Empty: the server sends the bytes.
SENDFILE_HEADER = os.environ.get("CRDS_SERVER_SENDFILE_HEADER", "")
SENDFILE_PREFIX = "/" + os.environ.get("CRDS_SERVER_SENDFILE_PREFIX", "/_crds_store/").strip("/") + "/"
# Threads per web worker process (gunicorn gthread).  Downloads the server sends itself may
# hold at most WEB_THREADS - TRANSFER_RESERVE of them; beyond that a download is answered
# 503 with Retry-After, so RPC calls and pages always find a free thread.
WEB_THREADS = int(os.environ.get("CRDS_SERVER_THREADS", "32"))
TRANSFER_RESERVE = int(os.environ.get("CRDS_SERVER_TRANSFER_RESERVE", str(max(2, WEB_THREADS // 4))))
