"""The gunicorn worker of `crds-server run`: gthread, with a deadline on every socket read.

gthread hands a connection to a thread once its first bytes arrive and then
reads the request head with a blocking socket and no timeout, so a client
that sends half a request line and stops (slowloris) holds a thread for ever:
100 such sockets stalled every request of a 2 x 32-thread server.  Here each
connection's socket gets a timeout of HEADER_SECONDS as soon as a thread takes
it: every read of the head or body (and every send) then fails once the peer
has moved no byte for that long, and gunicorn closes the connection.
Downloads set their own idle limit afterwards (`transfers.limit_idle`).

A connection that is not kept alive is also closed here, in the thread:
gunicorn's graceful close lingers up to 2 s for the peer to hang up, and on
the worker's main thread, 100 such peers stalled the whole worker for minutes.
"""

from __future__ import annotations

from django.conf import settings
from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker


class DeadlineThreadWorker(ThreadWorker):
    """gthread whose connections time out when idle while a thread serves them."""

    def handle(self, conn):
        init = conn.init

        def init_with_deadline() -> None:
            init()  # gunicorn makes the socket blocking (no timeout) here
            conn.sock.settimeout(settings.HEADER_SECONDS)

        conn.init = init_with_deadline
        keep = super().handle(conn)
        if keep is False or keep is None:
            # Close (gracefully) now, in this thread; the main loop's close then finds it closed.
            util.close_graceful(conn.sock)
        return keep
