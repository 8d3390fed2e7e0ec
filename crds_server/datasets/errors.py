"""Domain errors of the dataset parameter source."""

from crds_server.catalog.errors import CatalogError


class DatasetError(CatalogError):
    """A dataset id or parameter file the server cannot use."""
