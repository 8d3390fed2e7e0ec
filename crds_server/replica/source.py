"""The source server, read only through what the unmodified `crds` client may call.

JSON-RPC `get_server_info`, `get_context_history`, `get_file_info_map` and
`get_build_context` (contract §3), and the download URLs the server info
names.  Every answer is checked for the shape the client relies on; anything
else is a ReplicaError naming the source and the call.
"""

from __future__ import annotations

import base64
import gzip
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .errors import ReplicaError

USER_AGENT = "crds-server-replica"


@dataclass
class Source:
    """One source server and how long to wait for each of its answers."""

    url: str
    observatory: str
    timeout: float = 60.0

    def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC 1.0 call; the result, decoded when it is `crds_encoded`."""
        body = json.dumps({"jsonrpc": "1.0", "method": method, "params": list(params), "id": 1})
        request = urllib.request.Request(f"{self.url}/json/{method}/{USER_AGENT}/", data=body.encode(),
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ReplicaError(f"{self.url} answered {method} with HTTP {exc.code}.") from exc
        except (OSError, ValueError) as exc:  # down, timed out, reset, or not JSON
            raise ReplicaError(f"{self.url} did not answer {method}: {exc}") from exc
        if not isinstance(reply, dict) or "result" not in reply:
            raise ReplicaError(f"{self.url} answered {method} with something that is not JSON-RPC.")
        if reply.get("error"):
            error = reply["error"]
            text = error.get("message", error) if isinstance(error, dict) else error
            raise ReplicaError(f"{self.url} refused {method}: {str(text)[:500]}")
        return decode(reply["result"], f"{self.url} {method}")

    def server_info(self) -> dict[str, Any]:
        info = expect(self.call("get_server_info"), dict, f"{self.url} get_server_info")
        if info.get("observatory") != self.observatory:
            raise ReplicaError(f"{self.url} serves observatory '{info.get('observatory')}', "
                               f"this server '{self.observatory}'.")
        info["download_metadata"] = expect(decode(info.get("download_metadata"), "download_metadata"),
                                           dict, f"{self.url} download_metadata")
        return info

    def history(self) -> list[list[str]]:
        rows = expect(self.call("get_context_history", self.observatory), list,
                      f"{self.url} get_context_history")
        if not all(isinstance(r, list) and len(r) >= 3 and all(isinstance(v, str) for v in r[:3])
                   for r in rows):
            raise ReplicaError(f"{self.url} sent a context history that is not [date, context, text] rows.")
        return [r[:3] for r in rows]

    def records(self) -> dict[str, dict[str, str]]:
        """Every catalog record of the source, all fields."""
        found = expect(self.call("get_file_info_map", self.observatory, None, None), dict,
                       f"{self.url} get_file_info_map")
        return {name: rec for name, rec in found.items() if isinstance(rec, dict)}

    def build_context(self, calver: str) -> str:
        return expect(self.call("get_build_context", self.observatory, calver), str,
                      f"{self.url} get_build_context")

    def download_url(self, info: dict[str, Any], kind: str, name: str) -> str:
        """Where `name` is downloaded: the `mapping_url` or `reference_url` of the server info."""
        urls = info.get("mapping_url" if kind == "mapping" else "reference_url")
        if isinstance(urls, dict):
            urls = urls.get("unchecked", urls)
        if isinstance(urls, dict):
            urls = urls.get(self.observatory)
        if not isinstance(urls, str) or not urls.startswith(("http://", "https://")):
            raise ReplicaError(f"{self.url} names no download URL for its {kind}s.")
        return urls.rstrip("/") + "/" + name


def decode(value: Any, what: str) -> Any:
    """The value of a `crds_encoded` envelope (base64 of gzip of JSON), or `value` itself."""
    if not (isinstance(value, dict) and "crds_payload" in value):
        return value
    try:
        return json.loads(gzip.decompress(base64.b64decode(value["crds_payload"])))
    except (ValueError, OSError, EOFError, TypeError) as exc:
        raise ReplicaError(f"{what}: a crds_encoded answer that cannot be decoded ({exc}).") from exc


def expect(value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind):
        raise ReplicaError(f"{what}: expected a {kind.__name__}, got {type(value).__name__}.")
    return value
