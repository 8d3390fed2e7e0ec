"""A JSON-RPC caller for tests: posts through Django's test client as the crds client does."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

FORM = "application/x-www-form-urlencoded"  # what urllib sends, although the body is JSON


def crds_decode(result: Any) -> Any:
    """The client's `crds_decode`: unwrap a `crds_encoded` result, else return it as it is."""
    if isinstance(result, dict) and "crds_encoded" in result:
        return json.loads(gzip.decompress(base64.b64decode(result["crds_payload"])))
    return result


class Rpc:
    """Calls methods at /json/ with positional params, as `crds.client.proxy` does."""

    def __init__(self, client) -> None:
        self.client = client

    def post(self, body: bytes | str, path: str = "/json/", content_type: str = FORM):
        """POST a raw body; returns the response."""
        return self.client.post(path, data=body, content_type=content_type)

    def envelope(self, method: str, *params: Any, path: str | None = None) -> dict:
        """The parsed response of one call (asserting HTTP 200 and an `error` key)."""
        ident = f"test-14.0.3-{method}-00000001"
        body = json.dumps({"jsonrpc": "1.0", "method": method, "params": list(params), "id": ident})
        response = self.post(body, path or f"/json/{method}/{ident}/")
        assert response.status_code == 200
        reply = json.loads(response.content.decode("utf-8"))
        assert "error" in reply and "result" in reply
        return reply

    def __call__(self, method: str, *params: Any) -> Any:
        """The decoded result of a call that must succeed."""
        reply = self.envelope(method, *params)
        assert not reply["error"], reply["error"]
        return crds_decode(reply["result"])

    def error(self, method: str, *params: Any) -> str:
        """The error message of a call that must fail."""
        reply = self.envelope(method, *params)
        assert reply["error"], f"{method} succeeded: {str(reply['result'])[:300]}"
        assert isinstance(reply["error"]["message"], str)
        return reply["error"]["message"]
