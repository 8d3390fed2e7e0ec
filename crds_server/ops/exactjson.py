"""Django's JSON serializer with datetimes kept to the microsecond.

The stock encoder cuts datetimes to milliseconds; a restored context
history would then answer date-based context requests differently near an
era boundary.  The output is plain JSON that the stock deserializer (and
`loaddata`) reads back exactly.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.serializers import json as django_json
from django.core.serializers.json import DjangoJSONEncoder

NAME = "crds-json"


class ExactEncoder(DjangoJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return super().default(o)


class Serializer(django_json.Serializer):
    def _init_options(self) -> None:
        super()._init_options()
        self.json_kwargs["cls"] = ExactEncoder


Deserializer = django_json.Deserializer
