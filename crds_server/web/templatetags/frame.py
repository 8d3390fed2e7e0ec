"""Tags of the page frame (base.html): the build context banner."""

from __future__ import annotations

from django import template
from django.conf import settings

from crds_server.catalog import contexts

register = template.Library()

# Where each observatory's calibration software publishes its releases (the P6 links).
RELEASES = {"jwst": "https://github.com/spacetelescope/jwst/releases/tag/",
            "roman": "https://github.com/spacetelescope/romancal/releases/tag/"}


@register.simple_tag
def build_banner() -> dict:
    """The home page banner's build context and CAL_VER (both '' when none is set)."""
    calver, context = contexts.newest_build()
    return {"calver": calver, "context": context}


@register.filter
def release_url(calver: str) -> str:
    """The release page of calibration software version `calver`, or '' (HST, unknown)."""
    base = RELEASES.get(settings.OBSERVATORY)
    return f"{base}{calver}" if base and calver and calver != "0" else ""
