"""The `crds certify` command line, run on the server's file store, read file by file.

The certify tests compare the server's reports with what the library's own
command says for the same files and comparison context
(``crds certify --comparison-context=CTX --run-fitsverify FILE...``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from django.conf import settings

from crds_server.lib.crdsenv import SERVERLESS_URL
from tests.live import BIN, clean_env

_LINE = re.compile(r"^CRDS - (INFO|WARNING|ERROR|DEBUG) - (.*)$")
_CERTIFYING = re.compile(r"^Certifying '([^']+)'")
# The command line names the file of an error by instrument, type and path (its unique-errors
# summary); the library called without a script, as a server calls it, writes "In 'name' :".
_SCRIPT_PREFIX = re.compile(r"^instrument='[^']*' type='[^']*' data='([^']*)' ::  ")


def run_crds_certify(files: list[Path], context: str, observatory: str = "hst") -> dict[str, dict]:
    """{file name: {"errors": [...], "warnings": [...]}} as `crds certify` prints them."""
    env = clean_env()
    env.update(CRDS_PATH=str(settings.FILE_CACHE), CRDS_MODE="local", CRDS_SERVER_URL=SERVERLESS_URL,
               CRDS_OBSERVATORY=observatory, CRDS_REF_SUBDIR_MODE="flat", CRDS_READONLY_CACHE="1")
    done = subprocess.run(
        [str(BIN / "crds"), "certify", f"--comparison-context={context}", "--run-fitsverify",
         *[str(f) for f in files]], env=env, capture_output=True, text=True, timeout=300)
    return parse(done.stdout + done.stderr, [Path(f).parent for f in files])


def parse(output: str, folders: list[Path]) -> dict[str, dict]:
    """Split the command's log into the errors and warnings of each certified file."""
    found: dict[str, dict] = {}
    current: dict | None = None
    last: list[str] | None = None
    for line in output.splitlines():
        match = _LINE.match(line)
        if not match:
            if last is not None:  # a message of several lines
                last[-1] += "\n" + line
            continue
        level, text = match[1], match[2].strip()
        last = None
        certifying = _CERTIFYING.match(text)
        if certifying:
            current = found.setdefault(Path(certifying[1]).name, {"errors": [], "warnings": []})
        elif text.startswith("####"):
            current = None
        elif current is not None and level in ("ERROR", "WARNING"):
            last = current["errors" if level == "ERROR" else "warnings"]
            last.append(text)
    strip = sorted({str(f) + "/" for f in folders}, key=len, reverse=True)
    return {name: {kind: [normal(t, strip) for t in texts] for kind, texts in result.items()}
            for name, result in found.items()}


def normal(text: str, strip: list[str], name: str = "") -> str:
    """One message without the folders in `strip` and without the name of the file it is about.

    The library names the file differently when a script calls it (the command's
    "instrument=... data='PATH' ::  ") and when it is called alone, as a server
    calls it ("In 'NAME' : " or "PATH "); the message after it is the same.
    """
    for prefix in strip:
        text = text.replace(prefix, "")
    text = text.strip()
    match = _SCRIPT_PREFIX.match(text)
    if match:
        text = text[match.end():]
    elif name and text.startswith(f"In {name!r} : "):
        text = text[len(f"In {name!r} : "):]
    elif name and text.startswith(f"{name} "):
        text = text[len(name) + 1:]
    return "\n".join(part.rstrip() for part in text.splitlines())


def server_view(report: dict) -> dict[str, dict]:
    """The same shape from a server certify report (`result["certify"]`), messages normalised."""
    return {name: {"errors": [normal(t, [], name) for t in res["errors"]],
                   "warnings": [normal(t, [], name) for t in res["warnings"]]}
            for name, res in report["files"].items()}
