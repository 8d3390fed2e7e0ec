"""Domain errors of the catalog.  The class name leads every RPC error message."""

from __future__ import annotations


class CatalogError(Exception):
    """Base of every error the catalog reports to a user."""


class UnknownContextError(CatalogError):
    """A context or mapping name the server does not know."""


class InvalidDateBasedContext(CatalogError):
    """A context specification that cannot be parsed or resolved."""


class UnknownFileError(CatalogError):
    """A file name the catalog does not know."""


class BadContextError(CatalogError):
    """A context that may not be used for the requested purpose (bad, not a .pmap)."""


class ImportRefused(CatalogError):
    """A cache file that cannot be imported (bad checksum, unknown kind)."""


class FileInUseError(CatalogError):
    """A file of the latest context that may not be marked bad (make a clean context latest first)."""


class NotArchivedError(BadContextError):
    """A context naming files the archive does not hold yet, made latest without forcing it."""
