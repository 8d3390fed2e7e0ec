"""Live servers for integration tests: a real `crds-server run` on a free port,
and the real `crds` client run as a subprocess against it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env() -> dict[str, str]:
    """This process's environment without the crds settings the server's settings put there."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CRDS_") and k != "DATABASE_URL"}


def server_env(home: Path, observatory: str, **extra: str) -> dict[str, str]:
    env = clean_env()
    env.update(CRDS_SERVER_HOME=str(home), CRDS_SERVER_OBSERVATORY=observatory,
               CRDS_SERVER_ALLOWED_HOSTS="127.0.0.1,localhost")  # test/ops servers need it named
    env.update(extra)
    return env


def shell(home: Path, code: str, observatory: str = "hst") -> str:
    """Run Python `code` in `crds-server shell` for the server at `home`; its output, stripped."""
    done = subprocess.run([str(BIN / "crds-server"), "shell", "-c", code],
                          env=server_env(home, observatory), capture_output=True, text=True, check=True)
    return done.stdout.strip()


def manage(home: Path, observatory: str, *args: str, **extra: str) -> str:
    """Run one `crds-server` command for the server at `home`; returns its output."""
    done = subprocess.run(
        [str(BIN / "crds-server"), *args], env=server_env(home, observatory, **extra),
        capture_output=True, text=True, timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"crds-server {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class LiveServer:
    """A running `crds-server run` process."""

    home: Path
    observatory: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int = 2, jobs: bool = False, **extra: str) -> LiveServer:
        """Run `crds-server run`; with `jobs` also its job consumer.

        With CRDS_TEST_SERVING=nginx in the environment, the server runs in the
        production mode behind Debian's nginx (tests/nginx.py) and `port`/`url`
        are nginx's, so a whole test module can be rerun in that mode.
        """
        proxied = (os.environ.get("CRDS_TEST_SERVING") == "nginx"
                   and "CRDS_SERVER_SENDFILE_HEADER" not in extra)
        if proxied:
            self.proxy_port = free_port()
            extra = {"CRDS_SERVER_SENDFILE_HEADER": "X-Accel-Redirect",
                     "CRDS_SERVER_PUBLIC_URL": f"http://127.0.0.1:{self.proxy_port}", **extra}
        log = open(self.home / "logs" / "live-server.log", "ab")
        self.process = subprocess.Popen(
            [str(BIN / "crds-server"), "run", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers)] + ([] if jobs else ["--no-jobs"]),
            env=server_env(self.home, self.observatory, **{"CRDS_SERVER_PUBLIC_URL": self.url, **extra}),
            stdout=log, stderr=subprocess.STDOUT,
        )
        self._wait()
        if proxied:
            from tests.nginx import Nginx, ensure_installed, why_missing

            if ensure_installed() is None:
                self.stop()
                raise RuntimeError(why_missing())
            self.backend_port, self.port = self.port, self.proxy_port
            self.proxy = Nginx(self.home / "nginx", self.backend_port, self.home / "file_cache",
                               port=self.proxy_port)
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"server exited early: see {self.home / 'logs'}")
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("server did not start within 60 s")

    def stop(self) -> None:
        if getattr(self, "proxy", None) is not None:
            self.proxy.stop()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def rpc(self, method: str, *params):
        body = json.dumps({"jsonrpc": "1.0", "method": method, "params": list(params), "id": 1})
        request = urllib.request.Request(f"{self.url}/json/{method}/1/", data=body.encode())
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())

    def client_env(self, cache: Path, **extra: str) -> dict[str, str]:
        env = clean_env()
        env.update(CRDS_SERVER_URL=self.url, CRDS_OBSERVATORY=self.observatory, CRDS_PATH=str(cache))
        env.update(extra)
        return env

    def crds(self, cache: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
        """Run the real `crds` command-line client against this server."""
        return subprocess.run(
            [str(BIN / "crds"), *args], env=self.client_env(cache, **extra),
            capture_output=True, text=True, timeout=900,
        )

    def python(self, cache: Path, code: str, **extra: str) -> subprocess.CompletedProcess:
        """Run Python code with the `crds` library configured as a client of this server."""
        return subprocess.run(
            [sys.executable, "-c", code], env=self.client_env(cache, **extra),
            capture_output=True, text=True, timeout=900,
        )


def errors_in(output: str) -> list[str]:
    """CRDS error lines in a client's output."""
    return [line for line in output.splitlines() if " - ERROR - " in line]


PG_ADMIN_URL = os.environ.get("CRDS_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def port_open(port: int) -> bool:
    """Whether a service answers on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def postgres_reachable() -> bool:
    return port_open(5432)


def fresh_postgres_database() -> tuple[str, callable]:
    """A new empty PostgreSQL database for one live server: (DATABASE_URL, drop function)."""
    import uuid

    import psycopg

    name = f"crds_live_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop
