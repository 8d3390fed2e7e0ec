"""The mirror endpoint: a fresh backup of this server, for `crds-server mirror` on another.

Only with a token: ``CRDS_SERVER_MIRROR_TOKEN`` must be set here and sent as
``Authorization: Bearer <token>``; without the setting the endpoint refuses.
"""

from __future__ import annotations

import hmac
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from .backup import create_backup, write_archive


@require_GET
def latest_backup(request: HttpRequest) -> HttpResponse:
    """Stream a backup made now, as a tar.gz, to a holder of the mirror token."""
    token = settings.MIRROR_TOKEN
    if not token:
        return HttpResponse("Mirroring is disabled on this server (CRDS_SERVER_MIRROR_TOKEN is unset).\n",
                            status=403, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return HttpResponse("A valid mirror token is required.\n", status=401, content_type="text/plain")
    spool = Path(settings.HOME) / "backups"
    spool.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".serve-", dir=spool))
    try:
        root = create_backup(work / "backup").path
        with open(work / "backup.tar.gz", "wb") as out:
            write_archive(root, out)
        stream = open(work / "backup.tar.gz", "rb")  # stays readable once the directory is gone
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return FileResponse(stream, content_type="application/gzip", as_attachment=True,
                        filename=f"crds-{settings.OBSERVATORY}-{settings.USECASE}-backup.tar.gz")
