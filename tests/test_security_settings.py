"""Production safety by default: test and ops servers refuse to start unconfigured, an https
public URL gives Secure cookies and HSTS, the deploy check is clean with the documented
environment, the data directory is private and demo passwords are random off dev.

Settings are read once per process, so every case runs `crds-server` (or Python with the
project's settings) in a subprocess with its own data directory and environment.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import BIN, server_env

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "crds-server.env.example"
HOST = "hst-crds.example.org"
# Services a test machine may not have; the deploy check does not depend on them.
SERVICE_URLS = ("DATABASE_URL", "CACHE_URL", "HUEY_REDIS_URL")


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a server at `home`: nothing but `extra` chooses its hosts."""
    env = server_env(home, "hst")
    env.pop("CRDS_SERVER_ALLOWED_HOSTS", None)
    env.update(extra)
    return env


def crds_server(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """One `crds-server` command for the server at `home`, with the usual umask."""
    return subprocess.run([str(BIN / "crds-server"), *args], env=env_for(home, **extra),
                          capture_output=True, text=True, timeout=600, umask=0o022)


def python(home: Path, code: str, **extra: str) -> dict:
    """Run `code` with the project's settings set up; it prints one JSON value, returned."""
    prelude = "import json, django\ndjango.setup()\n"
    done = subprocess.run([sys.executable, "-c", prelude + code],
                          env=env_for(home, DJANGO_SETTINGS_MODULE="crds_server.settings", **extra),
                          capture_output=True, text=True, timeout=300, umask=0o022)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def init(home: Path, usecase: str, **extra: str) -> None:
    done = crds_server(home, "init", "--observatory", "hst", "--usecase", usecase, **extra)
    assert done.returncode == 0, done.stderr[-3000:]


def documented_env(home: Path) -> dict[str, str]:
    """deploy/crds-server.env.example as its comments say to fill it in, on embedded services."""
    env = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    for name in SERVICE_URLS:
        env.pop(name)
    env["CRDS_SERVER_HOME"] = str(home)
    env["CRDS_SERVER_SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something already listens on: a server started there cannot bind."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def ops_home(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """An ops server initialised with the documented production environment."""
    home = tmp_path_factory.mktemp("ops") / "home"
    env = documented_env(home)
    init(home, "ops", **env)
    return home, env


@pytest.mark.parametrize("usecase", ["test", "ops"])
def test_a_server_without_a_secret_key_refuses_to_run(tmp_path, usecase, occupied_port):
    home = tmp_path / "home"
    init(home, usecase)
    (home / "run" / "secret_key").unlink()
    done = crds_server(home, "run", "--bind", f"127.0.0.1:{occupied_port}", "--no-jobs",
                       CRDS_SERVER_ALLOWED_HOSTS="127.0.0.1")
    assert done.returncode != 0
    assert "crds_server.security.E001" in done.stderr and "has no secret key" in done.stderr


def test_the_example_placeholder_key_is_refused_too(tmp_path, occupied_port):
    home = tmp_path / "home"
    init(home, "test")
    done = crds_server(home, "run", "--bind", f"127.0.0.1:{occupied_port}", "--no-jobs",
                       CRDS_SERVER_ALLOWED_HOSTS="127.0.0.1",
                       CRDS_SERVER_SECRET_KEY="CHANGE-ME-to-a-long-random-string")
    assert done.returncode != 0 and "crds_server.security.E001" in done.stderr


@pytest.mark.parametrize("usecase", ["test", "ops"])
def test_a_server_without_explicit_allowed_hosts_refuses_to_run(tmp_path, usecase, occupied_port):
    home = tmp_path / "home"
    init(home, usecase)
    done = crds_server(home, "run", "--bind", f"127.0.0.1:{occupied_port}", "--no-jobs")
    assert done.returncode != 0
    assert "crds_server.security.E002" in done.stderr and "CRDS_SERVER_ALLOWED_HOSTS" in done.stderr


def test_the_wsgi_application_refuses_to_load_unconfigured(tmp_path):
    home = tmp_path / "home"
    init(home, "test")
    (home / "run" / "secret_key").unlink()
    done = subprocess.run([sys.executable, "-c", "import crds_server.wsgi"], env=env_for(home),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "Refusing to start" in done.stderr and "crds_server.security.E001" in done.stderr
    assert "crds_server.security.E002" in done.stderr


DEV_REQUESTS = """
from django.conf import settings
from django.test import Client
client = Client()
good = client.get("/login/", HTTP_HOST="crds.dev.example")
evil = client.get("/login/", HTTP_HOST="evil.example.com")
print(json.dumps({"hosts": settings.ALLOWED_HOSTS, "good": good.status_code, "evil": evil.status_code,
                  "csrf_secure": good.cookies["csrftoken"]["secure"],
                  "hsts": good.headers.get("Strict-Transport-Security")}))
"""


def test_dev_answers_its_public_host_and_loopback_only_and_keeps_cookies_usable_over_http(tmp_path):
    home = tmp_path / "home"
    init(home, "dev")
    seen = python(home, DEV_REQUESTS, CRDS_SERVER_PUBLIC_URL="http://crds.dev.example:8000")
    assert seen["hosts"] == ["crds.dev.example", "localhost", "127.0.0.1", "[::1]"]
    assert (seen["good"], seen["evil"]) == (200, 400)
    assert not seen["csrf_secure"] and seen["hsts"] is None


HTTPS_REQUESTS = """
from django.test import Client
from crds_server.accounts.actions import create_user
create_user("op", "op@example.org", "operator", password="a-password-of-op")
client = Client(HTTP_HOST=%(host)r)
https = {"HTTP_X_FORWARDED_PROTO": "https"}
page = client.get("/login/", **https)
login = client.post("/login/", {"username": "op", "password": "a-password-of-op", "instrument": "none"},
                    **https)
plain_page = Client(HTTP_HOST=%(host)r).get("/login/", HTTP_X_FORWARDED_PROTO="http")
plain_rpc = Client(HTTP_HOST=%(host)r).post(
    "/json/", json.dumps({"jsonrpc": "1.0", "method": "get_server_info", "params": [], "id": 1}),
    content_type="application/json", HTTP_X_FORWARDED_PROTO="http")
csrf, session = page.cookies["csrftoken"], login.cookies["sessionid"]
print(json.dumps({
    "page": page.status_code, "login": login.status_code,
    "hsts": page.headers.get("Strict-Transport-Security"),
    "csrf": {"secure": bool(csrf["secure"]), "httponly": bool(csrf["httponly"])},
    "session": {"secure": bool(session["secure"]), "httponly": bool(session["httponly"]),
                "max_age": session["max-age"]},
    "plain_page": [plain_page.status_code, plain_page.headers.get("Location")],
    "plain_rpc": plain_rpc.status_code,
}))
"""


def test_an_https_public_url_gives_secure_cookies_hsts_and_a_redirect_of_plain_pages(ops_home):
    home, env = ops_home
    seen = python(home, HTTPS_REQUESTS % {"host": HOST}, **env)
    assert (seen["page"], seen["login"]) == (200, 302)
    assert seen["hsts"] == "max-age=31536000; includeSubDomains"
    # `crds submit` reads the csrftoken cookie: Secure, never HttpOnly.
    assert seen["csrf"] == {"secure": True, "httponly": False}
    assert seen["session"] == {"secure": True, "httponly": True, "max_age": 12 * 3600}
    assert seen["plain_page"] == [301, f"https://{HOST}/login/"]
    assert seen["plain_rpc"] == 200  # the client POSTs to /json/ and follows no redirect


def test_the_deploy_check_is_clean_with_the_documented_environment(ops_home):
    home, env = ops_home
    done = crds_server(home, "check", "--deploy", "--fail-level", "WARNING", **env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    assert not re.search(r"security\.[WE]\d+", done.stdout + done.stderr)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_database_job_store_key_and_backups_are_private(tmp_path):
    home = tmp_path / "home"
    init(home, "test")
    hosts = {"CRDS_SERVER_ALLOWED_HOSTS": "127.0.0.1"}
    for command in (["migrate"], ["backup", "--output", str(home / "backups" / "nightly")]):
        done = crds_server(home, *command, **hosts)
        assert done.returncode == 0, done.stderr[-3000:]
    assert _mode(home) == 0o750
    assert {name: _mode(home / name) for name in ("run", "backups")} == {"run": 0o700, "backups": 0o700}
    for path in (home / "db.sqlite3", home / "run" / "huey.db", home / "run" / "secret_key"):
        assert _mode(path) == 0o600, path
    backup = home / "backups" / "nightly"
    assert _mode(backup) == 0o700
    inside = list(backup.rglob("*"))
    assert any(p.name == "database.json.gz" for p in inside)
    assert {p.name: _mode(p) for p in inside if p.is_file()} == {p.name: 0o600 for p in inside if p.is_file()}
    assert all(_mode(p) == 0o700 for p in inside if p.is_dir())
    # SQLite gives its write-ahead log the database file's mode.
    with sqlite3.connect(home / "db.sqlite3") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE probe (x)")
        assert _mode(home / "db.sqlite3-wal") == 0o600


def test_init_makes_an_older_data_directory_private(tmp_path):
    home = tmp_path / "home"
    init(home, "test")
    for path, mode in ((home, 0o755), (home / "run", 0o755), (home / "backups", 0o755),
                       (home / "db.sqlite3", 0o644), (home / "run" / "secret_key", 0o644)):
        path.chmod(mode)
    warned = crds_server(home, "check", "--deploy", CRDS_SERVER_ALLOWED_HOSTS="127.0.0.1")
    assert "crds_server.security.W002" in warned.stderr
    init(home, "test")
    assert [_mode(p) for p in (home, home / "run", home / "backups")] == [0o750, 0o700, 0o700]
    assert [_mode(p) for p in (home / "db.sqlite3", home / "run" / "secret_key")] == [0o600, 0o600]


PASSWORDS_WORK = """
from django.contrib.auth.models import User
given = json.loads(%r)
users = {name: User.objects.get(username=name) for name in given}
print(json.dumps({name: [users[name].check_password(name), users[name].check_password(password)]
                  for name, password in given.items()}))
"""


def test_demo_on_a_test_server_gives_random_passwords_shown_once(tmp_path):
    home = tmp_path / "home"
    first = crds_server(home, "demo", "--observatory", "hst", "--usecase", "test", "--datasets", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    given = dict(re.findall(r"user '(demo-\w+)', password '([^']+)' \(shown only once\)", first.stdout))
    assert set(given) == {"demo-submitter", "demo-operator"}
    assert all(password != name for name, password in given.items())
    checked = python(home, PASSWORDS_WORK % json.dumps(given))
    assert checked == {"demo-submitter": [False, True], "demo-operator": [False, True]}
    again = crds_server(home, "demo", "--observatory", "hst", "--usecase", "test", "--datasets", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "password" not in again.stdout.replace("its password is unchanged", "")
    assert not any(password in again.stdout for password in given.values())


def test_demo_refuses_an_ops_server(tmp_path):
    done = crds_server(tmp_path / "home", "demo", "--observatory", "hst", "--usecase", "ops")
    assert done.returncode != 0 and "never go on an ops server" in done.stderr
    assert not (tmp_path / "home" / "server.json").exists()
