"""The unmodified `crds query_affected` reads affected datasets computed by a live server."""

from __future__ import annotations

import subprocess

import pytest

from tests.live import BIN, LiveServer, manage, server_env

pytestmark = pytest.mark.live

DERIVE = """
import django
django.setup()
from django.conf import settings
from tests.builders import CatalogBuilder
from tests.web_helpers import derive_context
print(derive_context(CatalogBuilder(settings), "hst_0001.pmap", "acs", "darkfile")["pmap"])
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("affected-home")
    manage(home, "hst", "demo", "--observatory", "hst")
    env = server_env(home, "hst", DJANGO_SETTINGS_MODULE="crds_server.settings",
                     PYTHONPATH=str(BIN.parents[1]))
    done = subprocess.run([str(BIN / "python"), "-c", DERIVE], env=env, capture_output=True,
                          text=True, timeout=300, cwd=str(BIN.parents[1]))
    assert done.returncode == 0, done.stderr
    new = done.stdout.split()[-1]
    manage(home, "hst", "set-context", new, "--kind", "latest", "--reason", "Dropped one dark")
    live = LiveServer(home, "hst").start()
    yield live, "hst_0001.pmap", new
    live.stop()


def test_query_affected_reads_the_servers_results(server, tmp_path):
    live, old, new = server
    missing = live.rpc("get_affected_datasets", "hst", old, new)["error"]["message"]
    assert "No precomputed affected datasets results exist" in missing
    skipped = live.crds(tmp_path / "c1", "query_affected", "-x", "0", "-y", "1", "-i")
    assert skipped.returncode == 0, skipped.stderr[-2000:]
    assert skipped.stdout.strip() == ""

    out = manage(live.home, "hst", "affected", "--wait")
    assert "done" in out
    expected = live.rpc("get_affected_datasets", "hst", None, None)["result"]["affected_ids"]
    assert expected
    done = live.crds(tmp_path / "c2", "query_affected", "-x", "0", "-y", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == expected
    assert f"{old} --> {new}" in done.stderr and f"Total products affected = {len(expected)}" in done.stderr
