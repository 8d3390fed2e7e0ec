import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from crds_server.security.checks import refuse_unsafe_start


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and the job consumer in the foreground; SIGTERM stops both."

    # gthread workers: each request runs in one of CRDS_SERVER_THREADS threads, idle keep-alive
    # connections wait in the worker's poller, and the worker's heartbeat comes from its main
    # loop, so --timeout (CRDS_SERVER_TIMEOUT) restarts a hung worker but never cuts a transfer
    # that is still moving (web/transfers.py closes one that stops: CRDS_SERVER_IDLE_SECONDS).

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("CRDS_SERVER_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("CRDS_SERVER_WORKERS", "2")))
        parser.add_argument("--no-jobs", action="store_true", help="do not start a job consumer")

    def handle(self, *args, bind, workers, no_jobs, **options):
        # The system checks ran already unless skipped; a server never starts past an error.
        try:
            refuse_unsafe_start()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        # Download URLs in server info follow the bind address unless configured
        # (environment or server.json).
        if not settings.PUBLIC_URL_CONFIGURED:
            os.environ.setdefault("CRDS_SERVER_PUBLIC_URL", f"http://{bind}")
        children = [subprocess.Popen(self._gunicorn(bind, workers))]
        if not no_jobs:
            # Every consumer runs the scheduler: each periodic task is enqueued once per tick
            # across consumers, and its lease expires if a consumer dies (jobs/leases.py).
            consumer = [sys.executable, "-m", "crds_server", "run_huey"]
            children.append(subprocess.Popen(consumer))
        stopping = []

        def stop(signum, frame):
            stopping.append(signum)
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"CRDS {settings.OBSERVATORY} server on http://{bind}/ "
                          f"({workers} workers x {settings.WEB_THREADS} threads)")
        while all(child.poll() is None for child in children) and not stopping:
            time.sleep(0.5)
        stop(signal.SIGTERM, None)
        codes = [child.wait(timeout=60) for child in children]
        if not stopping and any(codes):
            sys.exit(1)

    def _gunicorn(self, bind, workers):
        return [
            sys.executable, "-m", "gunicorn", "crds_server.wsgi:application",
            "--bind", bind, "--workers", str(workers),
            "--worker-class", "crds_server.web.worker.DeadlineThreadWorker",
            "--threads", str(settings.WEB_THREADS),
            "--timeout", os.environ.get("CRDS_SERVER_TIMEOUT", "600"),
            "--graceful-timeout", "30", "--log-level", "warning", "--limit-request-line", "8190",
            # The only request log without a proxy; behind one that logs, 0 saves ~0.1 ms a file.
            *(["--access-logfile", "-"] if os.environ.get("CRDS_SERVER_ACCESS_LOG", "1") == "1" else []),
        ]
