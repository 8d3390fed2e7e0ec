"""`crds-server mirror` between two live servers: the demo source and an empty target."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.live import LiveServer, free_port, manage

pytestmark = pytest.mark.live
TOKEN = "mirror-test-token"


def _listing(home: Path) -> dict[str, int]:
    store = home / "file_cache"
    return {f"{kind}/{p.name}": p.stat().st_size for kind in ("mappings", "references")
            for p in (store / kind / "hst").iterdir() if not p.name.startswith(".")}


def _catalog(server: LiveServer) -> dict:
    reply = server.rpc("get_file_info_map", "hst", None, None)
    assert reply["error"] is None, reply
    result = reply["result"]
    if isinstance(result, dict) and "crds_payload" in result:  # the client's crds_encoded form
        result = json.loads(gzip.decompress(base64.b64decode(result["crds_payload"])))
    return result


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    source_home = tmp_path_factory.mktemp("mirror-source")
    target_home = tmp_path_factory.mktemp("mirror-target")
    manage(source_home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    manage(target_home, "hst", "init", "--observatory", "hst", "--usecase", "test")
    source = LiveServer(source_home, "hst").start(CRDS_SERVER_MIRROR_TOKEN=TOKEN)
    target = LiveServer(target_home, "hst").start()
    yield source, target
    source.stop()
    target.stop()


def test_the_backup_endpoint_needs_the_token(servers):
    source, _ = servers
    request = urllib.request.Request(f"{source.url}/backup/latest",
                                     headers={"Authorization": "Bearer wrong"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 401


def test_a_mirror_from_a_source_that_is_down_leaves_the_target_unchanged(servers):
    _, target = servers
    before = (_catalog(target), _listing(target.home))
    down = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RuntimeError, match="This server was not changed"):
        manage(target.home, "hst", "mirror", down, "--token", TOKEN)
    assert (_catalog(target), _listing(target.home)) == before
    assert not (target.home / "run" / "maintenance").exists()


def test_a_dry_run_mirror_says_what_it_would_fetch_and_changes_nothing(servers):
    source, target = servers
    before = (_catalog(target), _listing(target.home))
    out = manage(target.home, "hst", "mirror", source.url, "--token", TOKEN, "--dry-run")
    references = sum(1 for name in _listing(source.home) if name.startswith("references/"))
    assert f"Would fetch {references} references" in out
    assert (_catalog(target), _listing(target.home)) == before


def test_a_mirror_makes_the_target_a_copy_of_the_source(servers):
    source, target = servers
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:  # the target's health while the mirror runs
        while not done.is_set():
            try:
                with urllib.request.urlopen(f"{target.url}/health", timeout=5) as response:
                    seen.append(response.status)
            except urllib.error.HTTPError as exc:
                seen.append(exc.code)
                assert json.loads(exc.read())["status"] == "maintenance"
            except OSError:
                pass
            done.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        out = manage(target.home, "hst", "mirror", source.url, "--token", TOKEN)
    finally:
        done.set()
        watcher.join()
    assert "Maintenance mode is off." in out
    assert set(seen) <= {200, 503}
    assert _catalog(target) == _catalog(source)
    assert _listing(target.home) == _listing(source.home)
    info = target.rpc("get_server_info")["result"]
    assert info["latest_context"] == source.rpc("get_server_info")["result"]["latest_context"]
    assert "consistent" in manage(target.home, "hst", "check")
