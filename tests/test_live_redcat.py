"""The unmodified ReDCaT client paths against a live server with a real job consumer:
`crds rc_submit --redcat-parameters` and `crds.submit.Submission` (contract §5.9)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from astropy.io import fits

from tests.live import BIN, LiveServer, manage, server_env
from tests.test_redcat import ANSWERS

pytestmark = pytest.mark.live

TOKEN_CODE = (
    "from crds_server.accounts import actions as a; "
    "u = a.create_user('homer', 'homer@example.org', 'submitter'); print(a.create_token(u, 'cli'))"
)
EXTRA_OF_LATEST = (
    "import json; from crds_server.submissions.models import Submission; "
    "s = Submission.objects.order_by('-created').first(); "
    "print(json.dumps({'extra': s.extra, 'instrument': s.instrument, 'status': s.status}))"
)
# The client's own Submission class, pointed at this server: its table of STScI hosts is the
# only thing changed (contract §5.9: it never reads CRDS_SERVER_URL for the description).
SUBMISSION_CODE = """
import json, sys
from crds.submit import rc_submit
rc_submit.BASE_URLS["dev"]["hst"] = sys.argv[1] + "/"
sub = rc_submit.Submission("hst", "dev")
answers = json.loads(sys.argv[2])
for key, value in answers.items():
    sub[key] = {"True": True, "False": False}.get(value, value)
sub["description"] = "A new bias delivered through crds.submit.Submission"
sub.add_file(sys.argv[3])
result = sub.submit()
print(json.dumps({"errors": result.error_count, "ready_url": result.ready_url}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo HST server with a job consumer (SQLite)."""
    home = tmp_path_factory.mktemp("redcat-home")
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    live = LiveServer(home, "hst").start(workers=2, jobs=True)
    token = subprocess.run([str(BIN / "crds-server"), "shell", "-c", TOKEN_CODE],
                           env=server_env(home, "hst"), capture_output=True, text=True, check=True)
    live.token = token.stdout.strip().splitlines()[-1]
    yield live
    live.stop()


def _a_new_bias(server: LiveServer, folder, name: str) -> str:
    """A copy of a demo ACS bias reference with a new USEAFTER, as a submitter would make."""
    source = sorted((server.home / "file_cache" / "references" / "hst").glob("*_bia.fits"))[0]
    target = folder / name
    shutil.copy(source, target)
    with fits.open(target, mode="update") as hdus:
        hdus[0].header["USEAFTER"] = "Jan 01 2021 00:00:00"
        hdus[0].header["DESCRIP"] = "A new bias delivered by the ReDCaT test"
    return str(target)


def _rc_submit(server: LiveServer, folder, answers: dict, *files: str) -> subprocess.CompletedProcess:
    parameters = folder / "redcat.yaml"
    parameters.write_text(yaml.safe_dump(answers))
    return subprocess.run(
        [str(BIN / "crds"), "rc_submit", "--redcat-parameters", str(parameters), "--files", *files,
         "--monitor-processing", "--wait-for-completion", "--wipe-existing-files",
         "--description", "Test delivery of a new bias", "--creator", "ACS Team"],
        env=server.client_env(folder / "cache", CRDS_USERNAME="homer", MAST_API_TOKEN=server.token),
        cwd=folder, capture_output=True, text=True, timeout=600,
    )


def _latest(server: LiveServer) -> dict:
    done = subprocess.run([str(BIN / "crds-server"), "shell", "-c", EXTRA_OF_LATEST],
                          env=server_env(server.home, "hst"), capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cancel_latest(server: LiveServer) -> None:
    code = ("from crds_server.submissions import actions; "
            "from crds_server.submissions.models import Submission; "
            "s = Submission.objects.order_by('-created').first(); actions.cancel(s.user, s.id)")
    subprocess.run([str(BIN / "crds-server"), "shell", "-c", code],
                   env=server_env(server.home, "hst"), capture_output=True, text=True, check=True)


def test_rc_submit_delivers_the_answers_and_mails_the_other_addresses(server, tmp_path):
    answers = {k: {"True": True, "False": False}.get(v, v) for k, v in ANSWERS.items()}
    done = _rc_submit(server, tmp_path, answers, _a_new_bias(server, tmp_path, "rc_bias.fits"))
    output = done.stdout + done.stderr
    assert "COMPLETED" in output and done.returncode == 0, output[-4000:]
    latest = _latest(server)
    assert latest["status"] == "ready" and latest["instrument"] == "acs"
    assert latest["extra"]["deliverer"] == "Homer Simpson"
    assert latest["extra"]["history_updated"] == "True"
    assert latest["extra"]["keywords_checked"] == "False"
    # The console e-mail backend writes the notices to the server's log.
    log = (server.home / "logs" / "live-server.log").read_text(errors="replace")
    assert "To: homer@example.org, marge@example.org, bart@example.org" in log
    _cancel_latest(server)


def test_rc_submit_without_a_required_answer_is_refused_with_the_servers_reason(server, tmp_path):
    answers = {k: v for k, v in ANSWERS.items() if k != "modes_affected"}
    done = _rc_submit(server, tmp_path, answers, _a_new_bias(server, tmp_path, "rc_bias2.fits"))
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "'modes_affected' is required" in output, output[-4000:]


def test_the_clients_submission_class_reads_the_description_and_submits(server, tmp_path):
    answers = {k: v for k, v in ANSWERS.items() if k not in ("other_email",)}
    # submit() certifies locally first (--certify-files): the client needs the rules.
    edit = server.rpc("get_server_info")["result"]["edit_context"]
    synced = server.crds(tmp_path / "cache", "sync", "--contexts", edit)
    assert synced.returncode == 0, synced.stderr[-3000:]
    done = subprocess.run(
        [str(BIN / "python"), "-c", SUBMISSION_CODE, server.url, json.dumps(answers),
         _a_new_bias(server, tmp_path, "class_bias.fits")],
        env=server.client_env(tmp_path / "cache", CRDS_USERNAME="homer", MAST_API_TOKEN=server.token),
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0 and "/display_result/" in result["ready_url"]
    latest = _latest(server)
    assert latest["status"] == "ready" and latest["extra"]["calpipe_version"] == "hstcal 2.7"
    _cancel_latest(server)
