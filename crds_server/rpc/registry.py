"""The JSON-RPC method registry: a name -> function table with docstrings."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

METHODS: dict[str, Callable[..., Any]] = {}


class RpcError(Exception):
    """An error reported in the JSON-RPC envelope; the class name leads the message."""

    name = "OtherError"


class InvalidParameters(RpcError):
    name = "InvalidParameters"


class UnknownMethod(RpcError):
    name = "UnknownMethod"


class InvalidRequest(RpcError):
    """A body that is not one JSON-RPC call (not JSON, not an object, no method name)."""

    name = "InvalidRequest"


class RequestTooLarge(RpcError):
    """A body over the size limit."""

    name = "RequestTooLarge"


class RawJson:
    """A result already encoded as JSON text (precomputed, cached payloads)."""

    def __init__(self, text: str) -> None:
        self.text = text


def method(func: Callable[..., Any]) -> Callable[..., Any]:
    """Register `func` as a JSON-RPC method under its own name."""
    METHODS[func.__name__] = func
    return func


@functools.cache
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(func)  # ~30 us per call otherwise; methods never change


def call(name: str, params: list[Any]) -> Any:
    """Call method `name` with positional `params`, checking the parameter count."""
    func = METHODS.get(name)
    if func is None:
        raise UnknownMethod(f"Unknown JSON-RPC method '{name}'.")
    signature = _signature(func)
    try:
        signature.bind(*params)
    except TypeError as exc:
        wanted = ", ".join(signature.parameters)
        raise InvalidParameters(
            f"Method '{name}' takes parameters ({wanted}); got {len(params)}: {exc}."
        ) from exc
    return func(*params)


def describe() -> list[dict[str, str]]:
    """Every method with its parameters and docstring, for the browse page and docs."""
    return [
        {"name": name, "params": str(inspect.signature(func)),
         "doc": inspect.getdoc(func) or ""}
        for name, func in sorted(METHODS.items())
    ]
