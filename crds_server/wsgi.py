"""WSGI entry point for gunicorn.

Catalogued downloads (`/unchecked_get/mappings|references/...`) are answered
by a lean fast path in front of Django (`web.fastfiles`); every other request
goes to Django.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crds_server.settings")
django_application = get_wsgi_application()

from crds_server.web.fastfiles import FastFiles  # noqa: E402  (needs Django set up)

application = FastFiles(django_application)
