#!/usr/bin/env python3
"""Submission timings: a 3-file submission phase by phase, and a 1 GB upload.

    .venv/bin/python bench/bench_submit.py

On a demo HST server (made by `crds-server demo`, so the corpus is not
needed) with a job consumer:

* a 3-file submission driven with the client's own protocol (login,
  chunked upload, batch submit form, jpoll until `done`, confirm), each phase
  timed; baseline: the `crds` library certifying the same 3 files in-process
  (`crds certify`), the floor of what processing must do;
* a 1 GB reference uploaded with the client's chunked protocol
  (2,000,000-byte pieces with Content-Range, a fresh CSRF token each);
  baseline: copying the same file on the same disk.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests
from astropy.io import fits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

TOKEN_CODE = (
    "from crds_server.accounts import actions as a; "
    "u = a.create_user('bench', 'bench@example.org', 'submitter'); print(a.create_token(u, 'bench'))"
)


def demo_server() -> tuple[common.LiveServer, str]:
    home = common.workdir() / "submit-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    common.manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    token = subprocess.run([str(common.BIN / "crds-server"), "shell", "-c", TOKEN_CODE],
                           env=common.server_env(home, "hst"), capture_output=True, text=True,
                           check=True).stdout.split()[-1]
    return common.LiveServer(home, "hst").start(workers=2, jobs=True), token


def new_darks(server: common.LiveServer, folder: Path, count: int) -> list[Path]:
    store = server.home / "file_cache" / "references" / "hst"
    source = sorted(store.glob("*_drk.fits"))[0]
    made = []
    for index in range(count):
        target = folder / f"bench_dark_{index}.fits"
        shutil.copy(source, target)
        with fits.open(target, mode="update") as hdus:
            hdus[0].header["USEAFTER"] = f"Jan 0{index + 1} 2021 00:00:00"
        made.append(target)
    return made


class Client:
    """The web protocol of `crds submit` (contract §5), phase by phase."""

    def __init__(self, server: common.LiveServer, token: str) -> None:
        self.base, self.session = server.url, requests.Session()
        self.session.headers["referer"] = server.url
        self.session.cookies.set("ASB-AUTH", token)
        self.token = token

    def csrf(self, response: requests.Response) -> str:
        return response.cookies["csrftoken"]

    def login(self) -> None:
        page = self.session.get(self.base + "/login/")
        done = self.session.post(self.base + "/login/", data={
            "username": "bench", "password": self.token, "instrument": "acs", "next": "/",
            "csrfmiddlewaretoken": self.csrf(page)})
        assert done.status_code == 200 and "error_message" not in done.text, done.text[:500]

    def upload(self, path: Path) -> None:
        page = self.session.get(self.base + "/upload/chunked/")
        with open(path, "rb") as handle:
            self.session.post(self.base + "/upload/chunked/",
                              data={"csrfmiddlewaretoken": self.csrf(page)},
                              files={"files": (path.name, handle)})

    def upload_chunked(self, path: Path, piece: int = 2_000_000) -> None:
        """The client's chunked protocol: 2,000,000-byte pieces with Content-Range."""
        total = path.stat().st_size
        token = self.csrf(self.session.get(self.base + "/upload/chunked/"))
        with open(path, "rb") as handle:
            for start in range(0, total, piece):
                data = handle.read(piece)
                end = start + len(data) - 1
                done = self.session.post(
                    self.base + "/upload/chunked/", data={"csrfmiddlewaretoken": token},
                    files={"files": (path.name, data)},
                    headers={"Content-Range": f"bytes {start}-{end}/{total}"})
                token = self.csrf(done)

    def submit(self) -> str:
        self.channel = self.session.get(self.base + "/jpoll/open_channel").json()
        page = self.session.get(self.base + "/batch_submit_references/")
        done = self.session.post(self.base + "/batch_submit_references/", data={
            "pmap_mode": "pmap_edit", "instrument": "acs", "change_level": "SEVERE",
            "description": "Benchmark delivery", "auto_rename": "True",
            "compare_old_reference": "False", "csrfmiddlewaretoken": self.csrf(page)})
        assert done.status_code == 200, done.text[:500]
        return self.channel

    def wait(self, server: common.LiveServer) -> str:
        since = "0"
        while True:
            messages = server.rpc("jpoll_pull_messages", self.channel, since)["result"]
            for message in messages:
                since = str(message["id"])
                if message["type"] == "done":
                    assert message["data"]["status"] == 0, message
                    return message["data"]["result"]
            time.sleep(0.2)

    def confirm(self, ready_url: str) -> None:
        page = self.session.get(self.base + "/" + "/".join(ready_url.split("/")[-2:]))
        done = self.session.post(self.base + "/submit_confirm_pipeline/", data={
            "results_id": ready_url.split("/")[-1], "button": "confirm",
            "csrfmiddlewaretoken": self.csrf(page)})
        assert done.status_code == 200 and "error_message" not in done.text, done.text[:500]


def three_file_submission(server: common.LiveServer, token: str, report: common.Report) -> None:
    folder = common.workdir() / "submit-files"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    files = new_darks(server, folder, 3)
    client = Client(server, token)
    phases = {}
    phases["login"], _ = common.timed(client.login)
    phases["upload"], _ = common.timed(lambda: [client.upload(p) for p in files])
    phases["submit POST"], _ = common.timed(client.submit)
    phases["processing"], ready = common.timed(client.wait, server)
    phases["confirm"], _ = common.timed(client.confirm, ready)
    certify, _ = common.timed(
        subprocess.run, [str(common.BIN / "crds"), "certify", *map(str, files),
                         "--comparison-context", server.rpc("get_server_info")["result"]["latest_context"]],
        env=common.library_env(server.home / "file_cache"), capture_output=True)
    for name, seconds in phases.items():
        report.row(f"3-file submission: {name}", f"{seconds:.2f} s")
    report.row("3-file submission: processing vs crds certify in-process", f"{phases['processing']:.2f} s",
               f"{certify:.2f} s", f"{phases['processing'] / certify:.2f}x")
    report.row("3-file submission: total", f"{sum(phases.values()):.2f} s")


def big_upload(server: common.LiveServer, token: str, report: common.Report) -> None:
    folder = common.workdir() / "big-upload"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    big = folder / "bench_big_drk.fits"
    header = fits.Header({"SIMPLE": True, "BITPIX": 8, "NAXIS": 1, "NAXIS1": 2**30,
                          "TELESCOP": "HST", "INSTRUME": "ACS", "FILETYPE": "DARK"})
    header.tofile(big)
    with open(big, "r+b") as handle:  # data of zeros, padded to a FITS block
        handle.truncate(big.stat().st_size + 2**30)
    copy_seconds, _ = common.timed(shutil.copyfile, big, folder / "copy.fits")
    (folder / "copy.fits").unlink()
    client = Client(server, token)
    client.login()
    upload_seconds, _ = common.timed(client.upload_chunked, big)
    size = big.stat().st_size / 1e6
    ingest = server.home / "server_files" / "ingest" / "bench" / big.name
    ok = ingest.exists() and ingest.stat().st_size == big.stat().st_size
    report.row("1 GB upload, the client's chunked protocol (2 MB pieces) vs local copy",
               f"{size / upload_seconds:.0f} MB/s ({upload_seconds:.1f} s)",
               f"{size / copy_seconds:.0f} MB/s ({copy_seconds:.1f} s)",
               f"{upload_seconds / copy_seconds:.1f}x the time")
    if not ok:
        report.note("the 1 GB upload did not arrive whole in the ingest area")


def main() -> int:
    report = common.Report("submit", "submission phases and a 1 GB upload (demo HST server)")
    server, token = demo_server()
    try:
        three_file_submission(server, token, report)
        big_upload(server, token, report)
    finally:
        server.stop()
    report.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
