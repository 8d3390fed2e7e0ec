"""WSGI entry point for gunicorn.

Catalogued downloads (`/unchecked_get/mappings|references/...`) are answered
by a lean fast path in front of Django (`web.fastfiles`); every other request
goes to Django.  A test or ops configuration that fails a security check
(no secret key, no ALLOWED_HOSTS: security/checks.py) stops the import, so a
worker never serves with it, however gunicorn was started.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crds_server.settings")
django_application = get_wsgi_application()

from crds_server.security.checks import refuse_unsafe_start  # noqa: E402  (needs Django set up)
from crds_server.security.middleware import close_after_refusals  # noqa: E402
from crds_server.web.fastfiles import FastFiles  # noqa: E402

refuse_unsafe_start()
application = FastFiles(close_after_refusals(django_application))
