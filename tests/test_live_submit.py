"""The unmodified `crds submit` against a live server with a real job consumer."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from astropy.io import fits

from tests.live import (
    BIN,
    CORPUS,
    LiveServer,
    fresh_postgres_database,
    manage,
    postgres_reachable,
    server_env,
)

pytestmark = pytest.mark.live

TOKEN_CODE = (
    "from crds_server.accounts import actions as a; "
    "u = a.create_user('homer', 'homer@example.org', 'submitter'); print(a.create_token(u, 'cli'))"
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    """A demo HST server with a job consumer, on SQLite and (when it runs) PostgreSQL."""
    extra, drop = {}, None
    if request.param == "postgresql":
        if not postgres_reachable():
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
        extra["DATABASE_URL"], drop = fresh_postgres_database()
    home = tmp_path_factory.mktemp(f"submit-home-{request.param}")
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5", **extra)
    live = LiveServer(home, "hst").start(workers=2, jobs=True, **extra)
    token = subprocess.run([str(BIN / "crds-server"), "shell", "-c", TOKEN_CODE],
                           env=server_env(home, "hst", **extra), capture_output=True, text=True,
                           check=True)
    live.token = token.stdout.strip().splitlines()[-1]
    live.extra = extra
    yield live
    live.stop()
    if drop:
        drop()


def _a_new_bias(server: LiveServer, folder, name: str, **changes) -> str:
    """A copy of a demo ACS bias reference with a new USEAFTER, as a submitter would make."""
    store = server.home / "file_cache" / "references" / "hst"
    source = sorted(store.glob("*_bia.fits"))[0]
    target = folder / name
    shutil.copy(source, target)
    with fits.open(target, mode="update") as hdus:
        hdus[0].header["USEAFTER"] = "Jan 01 2020 00:00:00"
        hdus[0].header["DESCRIP"] = "A new bias delivered by the submit test"
        for key, value in changes.items():
            if value is None:
                del hdus[0].header[key]
            else:
                hdus[0].header[key] = value
    return str(target)


def _submit(server: LiveServer, folder, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "crds"), "submit", "--files", *files, "--monitor-processing",
         "--wait-for-completion", "--wipe-existing-files", "--autoconfirm",
         "--description", "Test delivery of a new bias", "--creator", "Homer"],
        env=server.client_env(folder / "cache", CRDS_USERNAME="homer", MAST_API_TOKEN=server.token),
        cwd=folder, capture_output=True, text=True, timeout=600,
    )


def test_crds_submit_delivers_a_good_reference_end_to_end(server, tmp_path):
    before = server.rpc("get_server_info")["result"]["edit_context"]
    done = _submit(server, tmp_path, _a_new_bias(server, tmp_path, "new_bias.fits"))
    output = done.stdout + done.stderr
    assert "COMPLETED" in output, output[-4000:]
    assert done.returncode == 0, output[-4000:]
    info = server.rpc("get_server_info")["result"]
    assert info["edit_context"] != before and info["edit_context"].endswith(".pmap")
    new_rmap = [m for m in server.rpc("get_mapping_names", info["edit_context"])["result"]
                if "acs_biasfile" in m]
    assert new_rmap and new_rmap[0] not in server.rpc("get_mapping_names", before)["result"]
    sync = server.crds(tmp_path / "cache2", "sync", "--contexts", info["edit_context"],
                       "--fetch-references", "--check-files")
    assert sync.returncode == 0, sync.stderr[-3000:]
    _the_archive_takes_the_delivery(server, info["edit_context"])


def _the_archive_takes_the_delivery(server: LiveServer, new_context: str) -> None:
    deliveries = server.home / "server_files" / "deliveries"
    catalogs = [p for p in deliveries.iterdir() if p.name.endswith(".cat")]
    assert len(catalogs) == 1
    listed = catalogs[0].read_text().split()
    assert new_context in listed
    assert server.rpc("get_file_info", "hst", new_context)["result"]["state"] == "delivered"
    manage(server.home, "hst", "simulate-archive", "--steps", "3", **server.extra)
    manage(server.home, "hst", "watch-deliveries", **server.extra)
    assert server.rpc("get_file_info", "hst", new_context)["result"]["state"] == "archived"
    assert not any(deliveries.iterdir())


def test_crds_submit_refuses_a_file_that_fails_certification_and_changes_nothing(server, tmp_path):
    before = server.rpc("get_server_info")["result"]["edit_context"]
    bad = _a_new_bias(server, tmp_path, "broken_bias.fits", DETECTOR="BROKEN")
    done = _submit(server, tmp_path, bad)
    output = done.stdout + done.stderr
    assert "FAILED" in output or done.returncode != 0, output[-4000:]
    assert server.rpc("get_server_info")["result"]["edit_context"] == before


def test_crds_submit_refuses_a_file_whose_fits_checksum_only_fitsverify_catches(server, tmp_path):
    from crds_server.submissions import fitsverify

    if fitsverify.path() is None:
        pytest.skip("fitsverify is not installed (make install installs it)")
    before = server.rpc("get_server_info")["result"]["edit_context"]
    good = _a_new_bias(server, tmp_path, "summed_bias.fits")
    with fits.open(good) as hdus:
        hdus.writeto(tmp_path / "bad_sum_bias.fits", checksum=True)
    raw = bytearray((tmp_path / "bad_sum_bias.fits").read_bytes())
    at = raw.index(b"DESCRIP = '") + 11
    raw[at:at + 4] = b"XXXX"  # a header value edited after the checksums were written
    (tmp_path / "bad_sum_bias.fits").write_bytes(bytes(raw))
    done = _submit(server, tmp_path, str(tmp_path / "bad_sum_bias.fits"))
    output = done.stdout + done.stderr
    assert done.returncode != 0 or "FAILED" in output, output[-4000:]
    assert "bad_sum_bias.fits" in output and "itsverify" in output, output[-4000:]
    assert server.rpc("get_server_info")["result"]["edit_context"] == before


@pytest.mark.corpus
def test_crds_submit_refuses_the_corpus_truncated_file(server, tmp_path):
    source = CORPUS / "hst" / "submissions" / "truncated.fits"
    if not source.exists():
        pytest.skip("../shared/corpus/hst/submissions is absent")
    before = server.rpc("get_server_info")["result"]["edit_context"]
    shutil.copy(source, tmp_path / "truncated.fits")
    done = _submit(server, tmp_path, str(tmp_path / "truncated.fits"))
    assert done.returncode != 0 or "FAILED" in done.stdout + done.stderr
    assert server.rpc("get_server_info")["result"]["edit_context"] == before
