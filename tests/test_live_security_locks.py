"""Lock enforcement through the unmodified `crds submit` (issue 8, item 4; issue 10, item 1).

For files of two instruments the client logs in with instrument `none`; the
server must take both instruments' locks when the files are submitted, all
or none, and refuse naming the holder when another user has one.
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from tests.live import BIN, LiveServer, manage, shell
from tests.submitting import COS_KEYWORDS, COS_RMAP
from tests.test_processing import new_reference

pytestmark = pytest.mark.live

SETUP = (
    "from crds_server.accounts import actions as a; from crds_server.locks import actions as l; "
    "u = a.create_user('homer', 'homer@example.org', 'submitter'); "
    "b = a.create_user('bart', 'bart@example.org', 'submitter'); l.acquire(b, 'cos'); "
    "print(a.create_token(u, 'cli'))"
)


def _shell(server: LiveServer, code: str) -> str:
    return shell(server.home, code)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("lock-home")
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    live = LiveServer(home, "hst").start(workers=2, jobs=True)
    live.token = _shell(live, SETUP).splitlines()[-1]
    yield live
    live.stop()


def _two_references(server: LiveServer, folder) -> list[str]:
    """A new ACS dark and a new COS flat, made from the demo's as a submitter would."""
    store = SimpleNamespace(path=server.home / "file_cache")
    return [str(new_reference(store, folder, "new_acs_dark.fits")),
            str(new_reference(store, folder, "new_cos_flat.fits", rmap_name=COS_RMAP, **COS_KEYWORDS))]


def _submit(server: LiveServer, folder, *files: str) -> str:
    done = subprocess.run(
        [str(BIN / "crds"), "submit", "--files", *files, "--monitor-processing",
         "--wait-for-completion", "--wipe-existing-files", "--autoconfirm",
         "--description", "Two instruments at once", "--creator", "Homer"],
        env=server.client_env(folder / "cache", CRDS_USERNAME="homer", MAST_API_TOKEN=server.token),
        cwd=folder, capture_output=True, text=True, timeout=600,
    )
    return done.stdout + done.stderr


def _locks(server: LiveServer) -> str:
    code = ("from crds_server.locks.models import InstrumentLock as L; "
            "print(sorted((x.instrument, x.user.username) for x in L.objects.all()))")
    return _shell(server, code).splitlines()[-1]


def test_crds_submit_of_two_instruments_is_refused_naming_the_holder_and_takes_no_lock(server, tmp_path):
    before = server.rpc("get_server_info")["result"]["edit_context"]
    output = _submit(server, tmp_path, *_two_references(server, tmp_path))
    assert "locked by 'bart'" in output, output[-4000:]
    assert "COMPLETED" not in output
    assert server.rpc("get_server_info")["result"]["edit_context"] == before
    assert _locks(server) == "[('cos', 'bart')]"  # homer kept no acs lock


def test_crds_submit_of_two_instruments_takes_both_locks_and_delivers(server, tmp_path):
    _shell(server, "from crds_server.locks.models import InstrumentLock as L; L.objects.all().delete()")
    before = server.rpc("get_server_info")["result"]["edit_context"]
    output = _submit(server, tmp_path, *_two_references(server, tmp_path))
    assert "COMPLETED" in output, output[-4000:]
    after = server.rpc("get_server_info")["result"]["edit_context"]
    assert after != before
    new = set(server.rpc("get_mapping_names", after)["result"]) - set(
        server.rpc("get_mapping_names", before)["result"])
    assert any("acs_darkfile" in m for m in new) and any("cos_flatfile" in m for m in new), new
    assert _locks(server) == "[]"  # released with the confirmation
