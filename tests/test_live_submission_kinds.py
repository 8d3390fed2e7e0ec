"""The unmodified `crds` client's other submission kinds against a live server with a job consumer.

`crds submit --submission-kind certify` is on the command line; Submit
References and Submit Mappings only through code (contract §5.4): the
client's own `ReferenceSubmissionScript` with `submission_kind` set, as
`crds.submit` users do.  Delete and Add References have no client: see
tests/test_submission_kinds.py for them.
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from tests.live import BIN, LiveServer, manage, shell
from tests.test_processing import new_reference

pytestmark = pytest.mark.live

SETUP = (
    "from crds_server.accounts import actions as a; "
    "u = a.create_user('homer', 'homer@example.org', 'submitter'); print(a.create_token(u, 'cli'))"
)
# The client's script, run with a kind its command line does not offer (contract §5.4).
SCRIPT = (
    "import sys; from crds.submit.submit import ReferenceSubmissionScript as S; "
    "s = S(sys.argv[:1] + sys.argv[2:]); s.args.submission_kind = sys.argv[1]; sys.exit(s())"
)


def _shell(server: LiveServer, code: str) -> str:
    return shell(server.home, code)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("kinds-home")
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    live = LiveServer(home, "hst").start(workers=2, jobs=True)
    live.token = _shell(live, SETUP).splitlines()[-1]
    yield live
    live.stop()


def _run(server: LiveServer, folder, kind: str, *files: str, confirm: bool = True) -> str:
    args = ["--files", *files, "--monitor-processing", "--wait-for-completion", "--wipe-existing-files",
            "--description", f"A {kind} submission by the live test", "--creator", "Homer"]
    if kind == "certify":
        command = [str(BIN / "crds"), "submit", "--submission-kind", "certify", *args]
    else:
        command = [sys.executable, "-c", SCRIPT, kind, *args] + (["--autoconfirm"] if confirm else [])
    done = subprocess.run(
        command, env=server.client_env(folder / "cache", CRDS_USERNAME="homer", MAST_API_TOKEN=server.token),
        cwd=folder, capture_output=True, text=True, timeout=600)
    return done.stdout + done.stderr


def _row(server: LiveServer, where: str) -> str:
    code = ("from crds_server.catalog.models import File; "
            f"print(sorted((f.name, f.state) for f in File.objects.filter({where})))")
    return _shell(server, code).splitlines()[-1]


def _edit(server: LiveServer) -> str:
    return server.rpc("get_server_info")["result"]["edit_context"]


def test_submit_references_delivers_an_orphan_and_leaves_the_rules_alone(server, tmp_path):
    before = _edit(server)
    store = SimpleNamespace(path=server.home / "file_cache")
    upload = new_reference(store, tmp_path, "orphan_dark.fits", "Jan 01 2011 00:00:00")
    output = _run(server, tmp_path, "references", str(upload))
    assert "COMPLETED" in output, output[-4000:]
    rows = _row(server, "uploaded_as='orphan_dark.fits'")
    assert "'delivered'" in rows, rows
    assert _edit(server) == before
    assert _row(server, "type='mapping', state='delivered'") == "[]"


def test_submit_mappings_without_generate_contexts_delivers_the_rmap_as_it_is(server, tmp_path):
    before = _edit(server)
    source = server.home / "file_cache" / "mappings" / "hst" / "hst_acs_darkfile_0001.rmap"
    edited = tmp_path / source.name
    edited.write_text(source.read_text().replace("'1998-10-01 00:00:00' : ", "'1997-10-01 00:00:00' : "))
    output = _run(server, tmp_path, "mappings", str(edited))
    assert "COMPLETED" in output, output[-4000:]
    info = server.rpc("get_file_info", "hst", "hst_acs_darkfile_0002.rmap")["result"]
    assert info["state"] == "delivered"
    assert _edit(server) == before  # two-phase: the context is set by hand


def test_crds_submit_certify_leaves_the_ingest_area_as_it_was(server, tmp_path):
    store = SimpleNamespace(path=server.home / "file_cache")
    upload = new_reference(store, tmp_path, "checked_dark.fits", "Jan 01 2012 00:00:00")
    output = _run(server, tmp_path, "certify", str(upload))
    assert "COMPLETED" in output, output[-4000:]
    ingest = server.home / "server_files" / "ingest" / "homer"
    assert sorted(p.name for p in ingest.iterdir() if not p.name.startswith(".")) == ["checked_dark.fits"]
    assert (ingest / "checked_dark.fits").read_bytes() == upload.read_bytes()
    assert not any((server.home / "server_files" / "uploads").glob("*-*-*-*-*/incoming/*"))
