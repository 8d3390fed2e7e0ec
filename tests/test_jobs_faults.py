"""No job consumer is a single point of failure: two real consumers on Redis, one killed with kill -9."""

from __future__ import annotations

import pytest

from tests.consumer_faults import Faults, kill_one_mid_run
from tests.live import port_open

pytestmark = pytest.mark.live

# Short settings, so the test waits seconds rather than minutes (the defaults: 60 s and 45 s).
SHORT = {"CRDS_SERVER_JOB_LEASE_SECONDS": "3", "CRDS_SERVER_AFFECTED_STALE_SECONDS": "6",
         "CRDS_SERVER_AFFECTED_HEARTBEAT_SECONDS": "1", "CRDS_SERVER_AFFECTED_CHUNK": "17"}


@pytest.fixture
def faults(tmp_path):
    if not port_open(6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379 (this test needs two consumers sharing it)")
    pytest.importorskip("redis")
    faults = Faults(tmp_path, SHORT)
    faults.prepare()
    yield faults
    faults.stop()


def test_the_other_consumer_takes_over_the_chunk_the_lease_and_the_schedule_of_a_killed_one(faults):
    outcome = kill_one_mid_run(faults, slow=2.5)
    # The killed consumer's chunk was requeued (its heartbeat went stale) and done by the other.
    assert outcome.run_status == "done"
    killed = [c for c in outcome.chunks if c[0] == outcome.killed_chunk]
    assert killed[0][1] == "done" and killed[0][3] == 2, outcome.chunks
    # The watch-deliveries lease of the dead consumer did not block the task: the survivor's own
    # scheduler enqueued watch_deliveries at a later tick and ran it (then released the lease).
    assert outcome.lease_holder_after == ""
