"""Run the database tests again on each reachable production backend.

Usage: python tests/backends.py POSTGRES_URL MYSQL_URL

SQLite always runs (the main `pytest` run); PostgreSQL and MariaDB/MySQL run
when their server answers on its port.  Prints which backends ran.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from urllib.parse import urlparse


def reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=2):
            return True
    except OSError:
        return False


def main(urls: list[str]) -> int:
    status = 0
    ran = ["sqlite (main run)"]
    for url in urls:
        name = urlparse(url).scheme
        if not reachable(url):
            print(f"backends: {name} not reachable at {urlparse(url).netloc}: skipped")
            continue
        print(f"backends: running the database tests on {name} ({urlparse(url).netloc})", flush=True)
        env = dict(os.environ, DATABASE_URL=url)
        workers = os.environ.get("TEST_WORKERS", "2")
        code = subprocess.call(
            [sys.executable, "-m", "pytest", "-q", "-m", "not live and not browser and not corpus",
             "-p", "no:cacheprovider", "-n", workers, "--dist", "loadfile"], env=env)
        ran.append(f"{name} ({'passed' if code == 0 else 'FAILED'})")
        status = status or code
    print("backends: database tests ran on: " + ", ".join(ran))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
