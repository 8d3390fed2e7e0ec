"""Addresses of STScI's CRDS site that bookmarks, issues and client messages still point to.

Each answers 301 with the page that replaced it.  The `crds` client's own
messages name `/docs/cmdline_bestrefs/` and `/static/users_guide/index.html`
(crds/core/heavy_client.py, selectors.py, refactoring/refactor.py); the
users' guide pages map to the help page's matching section.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.urls import reverse

# The old page names of the context pages, and their URL names here.
PAGES = {
    "display_build_contexts": "web-build-contexts",
    "display_context_history": "web-context-history",
    "display_all_contexts": "web-contexts",
}
# Old help and guide pages (by the stem of their name) -> the help page's section.
SECTIONS = {
    "cmdline_bestrefs": "client",
    "command_line_tools": "client",
    "web_services": "client",
    "overview": "contexts",
    "reference_conventions": "contexts",
    "rmap_syntax": "contexts",
    "database": "states",
    "file_submissions": "submitting",
    "web_site_use": "submitting",
    "pipeline_management": "bad",
}


def page(request: HttpRequest, old: str) -> HttpResponsePermanentRedirect:
    """An old context page -> its page here, with the same query (a page number, say)."""
    target = reverse(PAGES[old])
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)


def guide(request: HttpRequest, path: str = "") -> HttpResponsePermanentRedirect:
    """`/docs/<page>/` or `/static/users_guide/<page>.html` -> the help page (at its section)."""
    return HttpResponsePermanentRedirect(reverse("web-help") + section(path))


def section(path: str) -> str:
    """The help page anchor (with '#') for an old guide path, '' for the top of the page."""
    name = path.strip("/").rsplit("/", 1)[-1].lower()
    stem = name.split("#", 1)[0].removesuffix(".html").removesuffix(".htm")
    anchor = SECTIONS.get(stem)
    return f"#{anchor}" if anchor else ""
