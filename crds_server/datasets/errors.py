"""Domain errors of the dataset parameter source."""

from crds_server.catalog.errors import CatalogError


class DatasetError(CatalogError):
    """A dataset id or parameter file the server cannot use."""


class UnplacedDataset(DatasetError):
    """A dataset id that matches no dataset and whose form names no instrument."""

    def __init__(self, ident: str) -> None:
        super().__init__(f"Can't determine instrument for dataset '{ident}'")
        self.ident = ident
