"""Archive dataset parameters: the source for the dataset RPC services."""

from __future__ import annotations

from django.db import models


class Dataset(models.Model):
    """The matching parameters of one exposure, as the archive catalog gives them.

    `product` and `exposure` are the two halves of the compound id
    (``PRODUCT:EXPOSURE`` for HST, ``WHOLE:PART`` for JWST/Roman).
    """

    product = models.CharField(max_length=128, db_index=True)
    exposure = models.CharField(max_length=128, db_index=True)
    instrument = models.CharField(max_length=32, db_index=True)
    date = models.DateTimeField(null=True, blank=True, db_index=True)
    header = models.JSONField()

    class Meta:
        unique_together = [("product", "exposure")]
        ordering = ["product", "exposure"]

    @property
    def compound_id(self) -> str:
        return f"{self.product}:{self.exposure}"
