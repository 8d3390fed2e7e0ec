"""Run one attempt per user in threads released at once; who won the lock and who lost."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection

from crds_server.locks.errors import LockError


def race(users: list, attempt: Callable) -> list[str]:
    """`attempt(user)` for every user at the same moment; "won" or "lost" (LockError) each."""
    barrier = threading.Barrier(len(users))
    outcomes: list[str] = []

    def run(user) -> None:
        try:
            barrier.wait()
            attempt(user)
            outcomes.append("won")
        except LockError:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes
