"""Debian's real nginx in front of a live server, as deploy/nginx-crds-server.conf sets it up.

The config is written into a temp dir (pid, logs and temp paths there;
`daemon off`), nginx listens on 127.0.0.1 only and proxies to the server;
downloads come back from the server as `X-Accel-Redirect` to the internal
location `/_crds_store/` (an alias of the store), which nginx sends itself.
nginx is installed with apt-get when missing and this runs as root; callers
skip with `why_missing()` otherwise.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.live import free_port

__all__ = ["Nginx", "ensure_installed", "free_port", "why_missing"]

PREFIX = "/_crds_store/"


def binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def ensure_installed() -> str | None:
    """nginx's path, installing Debian's package first when missing and possible."""
    if binary() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        from tests.services import apt_install

        apt_install("nginx")
    return binary()


def why_missing() -> str:
    return ("Debian's nginx is not installed and cannot be installed here (needs root and apt-get): "
            "the nginx-mode tests are skipped; `apt-get install nginx` enables them.")


def config(prefix: Path, port: int, upstream: int, store: Path, idle_seconds: int) -> str:
    """The test's nginx.conf: the production locations of deploy/ with local paths."""
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""
{user}
daemon off;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
{temp}
    upstream crds_server {{ server 127.0.0.1:{upstream}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        # Request bodies (upload pieces) are buffered here before the server sees them.
        client_max_body_size 64m;
        client_body_buffer_size 1m;
        client_body_timeout {idle_seconds}s;
        send_timeout {idle_seconds}s;
        location / {{
            proxy_pass http://crds_server;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 900s;
        }}
        location {PREFIX} {{
            internal;
            alias {store}/;
            etag off;
            add_header ETag $upstream_http_etag;
            add_header X-Checksum-Sha1 $upstream_http_x_checksum_sha1;
            add_header X-Content-Type-Options $upstream_http_x_content_type_options;
            add_header Referrer-Policy $upstream_http_referrer_policy;
            add_header Cross-Origin-Opener-Policy $upstream_http_cross_origin_opener_policy;
            add_header X-Frame-Options $upstream_http_x_frame_options;
        }}
    }}
}}
"""


class Nginx:
    """nginx in the foreground on a free loopback port, in front of the server on `upstream`."""

    def __init__(self, prefix: Path, upstream: int, store: Path, idle_seconds: int = 60,
                 port: int | None = None) -> None:
        path = ensure_installed()
        if path is None:
            raise RuntimeError(why_missing())
        self.port = port or free_port()
        self.prefix = prefix
        prefix.mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(config(prefix, self.port, upstream, store, idle_seconds))
        self.process = subprocess.Popen([path, "-p", str(prefix), "-c", str(conf)],
                                        stdout=open(prefix / "stdout.log", "ab"), stderr=subprocess.STDOUT)
        try:
            self._wait()
        except BaseException:
            self.stop()  # never leave an nginx behind that did not come up
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'stdout.log').read_text()}"
                                   f"{(self.prefix / 'error.log').read_text()}")
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("nginx did not answer /health within 30 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
