"""Report, and where possible start, the services the suite can use.

PostgreSQL, MariaDB and Redis are started by the machine; memcached,
Chromium, nginx and fitsverify come from Debian packages and are installed here when
missing and when this runs as root with apt-get available.  Nothing here fails the run:
tests that need a missing service skip and say so.  `python tests/services.py fitsverify`
(run by `make install`) installs only fitsverify, which the server itself needs: certification
runs it, and a submission of FITS files is refused without it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

PORTS = {"postgresql": 5432, "mariadb": 3306, "redis": 6379, "memcached": 11211}


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.call(["apt-get", "update", "-qq"], env=env, timeout=600,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.call(["apt-get", "install", "-y", "-qq", *packages], env=env, timeout=900,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ensure_memcached() -> None:
    if port_open(PORTS["memcached"]):
        return
    if not shutil.which("memcached"):
        apt_install("memcached")
    if shutil.which("memcached"):
        subprocess.call(["memcached", "-d", "-u", "root", "-l", "127.0.0.1", "-p", "11211", "-m", "64"])


def ensure_nginx() -> None:
    """Debian's nginx for the production-mode tests (test_live_serving.py); never started here."""
    if not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"):
        apt_install("nginx")


def ensure_chromium() -> None:
    if not shutil.which("chromium"):
        apt_install("chromium")


def ensure_fitsverify() -> None:
    """Debian's fitsverify (cfitsio), which the crds library runs inside certify."""
    if not shutil.which("fitsverify"):
        apt_install("fitsverify")


def report_fitsverify() -> None:
    found = shutil.which("fitsverify")
    where = f"at {found}" if found else "NOT installed (FITS submissions are refused)"
    print(f"services: fitsverify {where}")


def main() -> None:
    if sys.argv[1:] == ["fitsverify"]:
        try:
            ensure_fitsverify()
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"services: could not install fitsverify: {exc}")
        report_fitsverify()
        return
    try:
        ensure_fitsverify()
        ensure_memcached()
        ensure_chromium()
        ensure_nginx()
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"services: could not install or start a service: {exc}")
    for name, port in PORTS.items():
        print(f"services: {name} {'reachable' if port_open(port) else 'NOT reachable'} on 127.0.0.1:{port}")
    chromium = shutil.which("chromium")
    print(f"services: chromium {'at ' + chromium if chromium else 'NOT installed'}")
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    print(f"services: nginx {'at ' + nginx if nginx else 'NOT installed (nginx-mode tests skip)'}")
    report_fitsverify()


if __name__ == "__main__":
    main()
