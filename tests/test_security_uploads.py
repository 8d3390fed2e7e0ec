"""Refuse before reading, limits while streaming, and upload races on one name (issue 8, items 2, 6, 7).

In-process tests drive Django's own request handler with a request body that
is generated on demand and counts what the server reads of it, so a 200 MB
body costs the test nothing and "refused before reading" is a byte count.
The live tests do the same against a real `crds-server run` over a socket,
watching the server's upload directory while the body streams.
"""

from __future__ import annotations

import http.client
import random
import re
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from django.core.files.uploadhandler import StopUpload
from django.test import Client

from crds_server.accounts.actions import create_user
from crds_server.security.uploadhandlers import BoundedUploadHandler
from crds_server.submissions import ingest
from tests.live import BIN, LiveServer, manage, server_env

MB = 1_000_000
HUGE = 200 * MB
FORGED = "f" * 32  # a csrftoken cookie and form field the attacker chose: Django accepts the pair
BOUNDARY = "xYzBoundary"


def multipart_parts(file_name: str, token: str = FORGED) -> tuple[bytes, bytes]:
    """The bytes before and after the file content of a `crds submit`-style upload body."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n"
            f"{token}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


class GeneratedBody:
    """A request body of `size` bytes made on demand (head, zeros, tail) that counts what is read."""

    def __init__(self, head: bytes, size: int, tail: bytes = b"") -> None:
        self.head, self.tail = head, tail
        self.length = len(head) + size + len(tail)
        self.read_bytes = 0

    def _byte_range(self, start: int, count: int) -> bytes:
        body_end = self.length - len(self.tail)
        out = bytearray()
        for offset in range(start, start + count):  # only ever called for small edges
            if offset < len(self.head):
                out.append(self.head[offset])
            elif offset >= body_end:
                out.append(self.tail[offset - body_end])
            else:
                out.append(0)
        return bytes(out)

    def read(self, size: int = -1) -> bytes:
        left = self.length - self.read_bytes
        count = left if size is None or size < 0 else min(size, left)
        start = self.read_bytes
        self.read_bytes += count
        middle_start, middle_end = len(self.head), self.length - len(self.tail)
        if start >= middle_start and start + count <= middle_end:
            return bytes(count)
        if count > 4 * 1024 * 1024:
            raise AssertionError("the server asked for a whole huge body at once")
        return self._byte_range(start, count)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def post_streamed(client: Client, path: str, body: GeneratedBody, content_type: str,
                  headers: dict[str, str] | None = None):
    """POST `body` through Django's handler as a server would (nothing buffered in between)."""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(body.length),
               "CONTENT_TYPE": content_type, "wsgi.input": body, "SERVER_PORT": "80"}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()})
    return client.request(**environ)


def file_post(client: Client, path: str, size: int, token: str = FORGED, name: str = "big.fits",
              headers: dict[str, str] | None = None):
    head, tail = multipart_parts(name, token)
    body = GeneratedBody(head, size, tail)
    response = post_streamed(client, path, body, f"multipart/form-data; boundary={BOUNDARY}", headers)
    return response, body


def spooled(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []


@pytest.fixture
def temp_dir(settings, tmp_path):
    """FILE_UPLOAD_TEMP_DIR and SERVER_FILES of this test, to see what a request spools."""
    settings.SERVER_FILES = tmp_path / "server_files"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    return tmp_path / "uploads"


@pytest.fixture
def anonymous(db, temp_dir) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = FORGED
    return client


@pytest.fixture
def submitter(db, temp_dir) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(create_user("homer", "homer@example.org", "submitter"))
    client.cookies["csrftoken"] = FORGED
    return client


# ---------------------------------------------------------------- in process: refuse before reading


def test_an_anonymous_200_mb_upload_is_refused_before_a_byte_of_it_is_read(anonymous, temp_dir):
    response, body = file_post(anonymous, "/upload/chunked/", HUGE)
    assert response.status_code == 401
    assert "Log in first" in response.json()["files"][0]["error"]
    assert response.cookies["csrftoken"].value  # `crds submit` reads it from every upload answer
    assert body.read_bytes == 0 and spooled(temp_dir) == []


def test_an_anonymous_200_mb_multipart_login_is_refused_before_reading(anonymous, temp_dir):
    response, body = file_post(anonymous, "/login/", HUGE)
    assert response.status_code == 413 and b"exceeds the limit" in response.content
    assert body.read_bytes == 0 and spooled(temp_dir) == []


def test_an_anonymous_form_post_over_the_small_limit_is_refused_before_reading(anonymous):
    body = GeneratedBody(b"username=x&password=", 300 * 1024)
    response = post_streamed(anonymous, "/login/", body, "application/x-www-form-urlencoded")
    assert response.status_code == 413 and body.read_bytes == 0


def test_an_anonymous_multipart_form_may_carry_fields_but_no_file(anonymous, temp_dir):
    response, body = file_post(anonymous, "/login/", 10_000, name="sneaky.fits")
    assert response.status_code == 401 and b"only a logged-in submitter" in response.content
    assert spooled(temp_dir) == []
    page = Client().post("/login/", {"username": "nobody", "password": "wrong", "instrument": "none"})
    assert page.status_code in (401, 403)  # a multipart login form is still judged, not refused


def test_a_logged_in_user_who_is_not_a_submitter_may_not_upload(db, temp_dir):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_user("lisa"))  # an account with no role
    client.cookies["csrftoken"] = FORGED
    response, body = file_post(client, "/upload/chunked/", HUGE)
    assert response.status_code == 403 and body.read_bytes == 0


def test_a_submitters_upload_over_the_request_limit_is_refused_before_reading(submitter, settings,
                                                                              temp_dir):
    settings.UPLOAD_MAX_BYTES = 1 * MB
    response, body = file_post(submitter, "/upload/chunked/", HUGE)
    assert response.status_code == 413 and "exceeds the limit" in response.json()["files"][0]["error"]
    assert response.cookies["csrftoken"].value
    assert body.read_bytes == 0 and spooled(temp_dir) == []


def test_a_file_over_the_limit_is_stopped_while_it_streams_and_leaves_no_temp_file(submitter, settings,
                                                                                   temp_dir):
    settings.UPLOAD_MAX_BYTES = 100_000
    response, body = file_post(submitter, "/upload/chunked/", 1_000_000)  # within the request limit
    assert response.status_code == 413
    error = response.json()["files"][0]
    assert error["name"] == "big.fits" and "exceeds the upload limit of 100000" in error["error"]
    assert body.read_bytes < 400_000  # stopped a chunk or two past the limit, not at the end
    assert spooled(temp_dir) == []
    assert spooled(Path(settings.SERVER_FILES)) == []


def test_a_body_without_a_content_length_is_refused_with_411(submitter):
    response = submitter.post("/upload/chunked/", b"", content_type="multipart/form-data; boundary=x",
                              headers={"Transfer-Encoding": "chunked"}, CONTENT_LENGTH="")
    assert response.status_code == 411 and "Content-Length" in response.json()["files"][0]["error"]
    assert response.cookies["csrftoken"].value


def test_rpc_bodies_are_refused_in_a_json_rpc_envelope_before_reading(anonymous, settings):
    settings.RPC_MAX_BODY = 1000
    body = GeneratedBody(b'{"jsonrpc": "1.0", "method": "get_server_info", "params": [], "id": 1, "x": "',
                         HUGE, b'"}')
    too_large = post_streamed(anonymous, "/json/", body, "application/json")
    unmeasured = anonymous.post("/json/", b"", content_type="application/json",
                                headers={"Transfer-Encoding": "chunked"}, CONTENT_LENGTH="")
    assert body.read_bytes == 0
    for response, name in ((too_large, "RequestTooLarge"), (unmeasured, "LengthRequired")):
        envelope = response.json()
        assert response.status_code == 200 and set(envelope) == {"jsonrpc", "id", "result", "error"}
        assert envelope["result"] is None and envelope["error"]["name"] == name
        assert envelope["error"]["message"].startswith(f"{name}: ")


def test_a_small_upload_by_a_submitter_still_works(submitter, settings):
    token = submitter.get("/upload/chunked/").cookies["csrftoken"].value
    response, body = file_post(submitter, "/upload/chunked/", 5000, token=token, name="ok.fits")
    assert response.status_code == 200 and response.json()["files"][0]["size"] == 5000
    assert body.read_bytes == body.length


def test_the_handler_stops_past_the_file_limit_whatever_the_declared_length(settings, temp_dir):
    settings.UPLOAD_MAX_BYTES = 1000
    handler = BoundedUploadHandler()
    assert handler.handle_raw_input(None, {}, 0, b"x") is None  # no Content-Length to trust
    handler.new_file("files", "x.fits", "application/octet-stream", None)
    handler.receive_data_chunk(b"a" * 600, 0)
    temp = Path(handler.file.temporary_file_path())
    assert temp.parent == temp_dir and temp.exists()
    with pytest.raises(StopUpload) as stopped:
        handler.receive_data_chunk(b"a" * 600, 600)
    assert stopped.value.connection_reset and handler.refusal.status == 413
    assert not temp.exists()


def test_a_content_range_of_5000_digits_is_answered_400(submitter):
    token = submitter.get("/upload/chunked/").cookies["csrftoken"].value
    response, _ = file_post(submitter, "/upload/chunked/", 10, token=token,
                            headers={"Content-Range": f"bytes 0-9/{'9' * 5000}"})
    assert response.status_code == 400 and "at most 19 digits" in response.json()["files"][0]["error"]
    with pytest.raises(ingest.IngestError):
        ingest.parse_content_range(f"bytes 0-{'1' * 20}/{'2' * 20}")
    assert ingest.parse_content_range(f"bytes 0-9/{'9' * 19}") == (0, 9, int("9" * 19))


# ---------------------------------------------------------------- in process: races on one name


RACE_TRIALS = 60
RACE_PIECE = 1024


@dataclass
class Race:
    """One trial: uploads of one name started at once, and what each thread raised."""

    user: User
    name: str
    complete: list[bytes]
    unexpected: list[BaseException]
    listed: list[dict]


def _chunked_job(race: Race, data: bytes) -> Callable[[], None]:
    def run() -> None:
        for start in range(0, len(data), RACE_PIECE):
            piece = data[start:start + RACE_PIECE]
            ingest.receive_chunk(race.user, race.name, _split(piece),
                                 (start, start + len(piece) - 1, len(data)))
    return run


def _split(data: bytes, size: int = 256) -> Iterator[bytes]:
    """The data in several blocks, so a writer gives other threads chances to interleave."""
    return (data[i:i + size] for i in range(0, len(data), size))


def _whole_job(race: Race, data: bytes) -> Callable[[], None]:
    return lambda: ingest.receive_chunk(race.user, race.name, _split(data, 1024), None)


def _last_piece_job(race: Race, data: bytes) -> Callable[[], None]:
    """The second and last piece of `data`, whose first piece is already in."""
    return lambda: ingest.receive_chunk(race.user, race.name, _split(data[RACE_PIECE:]),
                                        (RACE_PIECE, len(data) - 1, len(data)))


def _lister_job(race: Race) -> Callable[[], None]:
    def run() -> None:
        for _ in range(20):
            race.listed.extend(ingest.list_files(race.user))
    return run


def _delete_job(race: Race) -> Callable[[], None]:
    return lambda: ingest.delete_file(race.user, race.name)


def assert_one_of(got: bytes, complete: list[bytes], trial: int) -> None:
    """`got` is byte for byte one of the complete uploads (never a prefix, a mixture or a piece)."""
    if got not in complete:
        prefix = [i for i, d in enumerate(complete) if d.startswith(got)]
        raise AssertionError(f"trial {trial}: the final file of {len(got)} bytes is none of the uploads "
                             f"(sizes {[len(d) for d in complete]}; a prefix of {prefix})")


def _run_at_once(race: Race, jobs: list[Callable[[], None]]) -> None:
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], None]) -> None:
        barrier.wait(timeout=30)
        try:
            job()
        except ingest.IngestError:
            pass  # a refused upload: the client is told with a 4xx
        except BaseException as exc:  # noqa: BLE001  (anything else would be a 500)
            race.unexpected.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)


def test_racing_uploads_of_one_name_leave_one_complete_file_and_no_partial_state(settings, tmp_path):
    settings.SERVER_FILES = tmp_path / "server_files"
    user = User(username="racer")
    rng = random.Random(8)
    finals: dict[str, int] = {"complete": 0, "absent": 0}
    for trial in range(RACE_TRIALS):
        # Distinct totals: two chunked uploads of one size could interleave their pieces, a
        # mixture the protocol (no upload id) cannot tell apart; different sizes are refused.
        chunked = [rng.randbytes(RACE_PIECE * (6 + k) + 100 + k) for k in range(2)]
        whole = [rng.randbytes(RACE_PIECE * 3 + 7 * k) for k in range(2)]
        race = Race(user, f"race{trial}.fits", chunked + whole, [], [])
        jobs = [_chunked_job(race, d) for d in chunked] + [_whole_job(race, d) for d in whole]
        jobs.append(_lister_job(race))
        if trial % 3 == 2:
            jobs.append(_delete_job(race))
        _run_at_once(race, jobs)

        assert race.unexpected == [], f"trial {trial}: {race.unexpected!r}"
        final = ingest.ingest_dir(user) / race.name
        if final.exists():
            assert_one_of(final.read_bytes(), race.complete, trial)
            finals["complete"] += 1
        else:
            assert trial % 3 == 2, f"trial {trial}: no upload survived without a delete"
            finals["absent"] += 1
        sizes = {len(d) for d in race.complete}
        assert all(e["size"] in sizes for e in race.listed if e["name"] == race.name)
        assert list((ingest.ingest_dir(user) / ingest.PARTIAL).iterdir()) == [], f"trial {trial}"
    assert finals["complete"] > RACE_TRIALS // 2


def test_a_piece_racing_a_whole_upload_never_writes_into_the_finished_file(settings, tmp_path):
    """The reported race: the last piece and a whole upload of the same name, many times."""
    settings.SERVER_FILES = tmp_path / "server_files"
    user = User(username="racer")
    rng = random.Random(7)
    for trial in range(RACE_TRIALS):
        name = f"last{trial}.fits"
        pieces, whole = rng.randbytes(2 * RACE_PIECE), rng.randbytes(5 * RACE_PIECE)
        ingest.receive_chunk(user, name, [pieces[:RACE_PIECE]], (0, RACE_PIECE - 1, len(pieces)))
        race = Race(user, name, [pieces, whole], [], [])
        _run_at_once(race, [_last_piece_job(race, pieces), _whole_job(race, whole),
                            _chunked_job(race, pieces)])
        assert race.unexpected == []
        assert_one_of((ingest.ingest_dir(user) / name).read_bytes(), race.complete, trial)
        assert list((ingest.ingest_dir(user) / ingest.PARTIAL).iterdir()) == []


# ---------------------------------------------------------------- live: a real server on loopback


USER = "homer"
TOKEN_CODE = (
    "from crds_server.accounts import actions as a; "
    f"u = a.create_user('{USER}', '{USER}@example.org', 'submitter'); print(a.create_token(u, 'cli'))"
)
LIVE_UPLOAD_MAX = 1 * MB


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A demo HST server whose uploads may be at most 1 MB (so the limits are cheap to pass)."""
    home = tmp_path_factory.mktemp("security-uploads-home")
    manage(home, "hst", "demo", "--observatory", "hst", "--datasets", "5")
    token = subprocess.run([str(BIN / "crds-server"), "shell", "-c", TOKEN_CODE],
                           env=server_env(home, "hst"), capture_output=True, text=True, check=True)
    assert (home / "server_files" / "uploads").is_dir()  # FILE_UPLOAD_TEMP_DIR: what we watch
    server = LiveServer(home, "hst").start(workers=2, CRDS_SERVER_UPLOAD_MAX_BYTES=str(LIVE_UPLOAD_MAX))
    server.token = token.stdout.strip().splitlines()[-1]
    yield server
    server.stop()


def disk_bytes(folder: Path, skip: tuple[str, ...] = ()) -> int:
    total = 0
    for path in folder.rglob("*"):
        if skip and any(part in skip for part in path.relative_to(folder).parts):
            continue
        try:
            if path.is_file():
                total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


@dataclass
class Streamed:
    """What streaming one body to the server came to."""

    sent: int  # body bytes the socket accepted before the server answered (or reset)
    answer: bytes
    reset: bool
    most_spooled: int  # the largest size the upload directory reached while we streamed
    seconds: float  # from the request line to the end of the answer (printed, never asserted)

    @property
    def status(self) -> int | None:
        match = re.match(rb"HTTP/1\.[01] (\d{3})", self.answer)
        return int(match.group(1)) if match else None


def stream_post(server: LiveServer, path: str, headers: dict[str, str], head: bytes, size: int,
                tail: bytes, watch: Path) -> Streamed:
    """POST a body of head + `size` zero bytes + tail over a raw socket, 256 KiB at a time,
    stopping as soon as the server answers; watches `watch` once per MB sent."""
    length = len(head) + size + len(tail)
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", f"Content-Length: {length}"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    began = time.monotonic()
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    sock.setblocking(False)
    zeros = bytes(256 * 1024)
    pieces = iter([head] + [zeros] * (size // len(zeros)) + [bytes(size % len(zeros)), tail])
    sent, most, next_watch, reset, pending = 0, 0, 0, False, memoryview(b"")
    for _ in range(4 * length // len(zeros) + 1000):  # bounded: partial sends at worst
        if not pending:
            piece = next(pieces, None)
            if piece is None:
                break
            pending = memoryview(piece)
        readable, writable, _ = select.select([sock], [sock], [], 30)
        if readable or not writable:
            break
        try:
            count = sock.send(pending)
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            reset = True
            break
        sent, pending = sent + count, pending[count:]
        if sent >= next_watch:
            most, next_watch = max(most, disk_bytes(watch)), next_watch + MB
    answer = b""
    sock.setblocking(True)
    sock.settimeout(30)
    try:
        for _ in range(1000):  # the server closes after its answer (gunicorn sync workers)
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, TimeoutError):
        reset = not answer
    sock.close()
    seconds = time.monotonic() - began
    return Streamed(max(0, sent - len(head)), answer, reset, max(most, disk_bytes(watch)), seconds)


def login_session(server: LiveServer) -> requests.Session:
    """Log in as `crds submit` does (instrument none), keeping the session and csrftoken cookies."""
    session = requests.Session()
    token = session.get(f"{server.url}/login/").cookies["csrftoken"]
    done = session.post(f"{server.url}/login/", data={
        "username": USER, "password": server.token, "instrument": "none", "next": "/",
        "csrfmiddlewaretoken": token}, headers={"referer": server.url})
    assert done.status_code == 200 and "sessionid" in session.cookies
    return session


def cookie_header(session: requests.Session | None) -> dict[str, str]:
    cookies = dict(session.cookies) if session else {}
    cookies.setdefault("csrftoken", FORGED)
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


def assert_refused_early(streamed: Streamed, statuses: tuple[int, ...]) -> None:
    """The server answered (or hung up) long before the body was sent, and spooled nothing."""
    assert streamed.status in statuses or (streamed.reset and streamed.status is None), streamed.answer
    assert streamed.sent < HUGE // 4, f"{streamed.sent} bytes were taken before the answer"
    assert streamed.most_spooled == 0


@pytest.mark.live
@pytest.mark.parametrize(("path", "statuses"), [("/upload/chunked/", (401,)), ("/login/", (401, 413))])
def test_live_an_anonymous_200_mb_upload_is_answered_before_its_body_and_spools_nothing(live, path,
                                                                                        statuses):
    uploads = live.home / "server_files" / "uploads"
    before = disk_bytes(live.home, skip=("logs",))
    head, tail = multipart_parts("big.fits")
    streamed = stream_post(live, path, {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **cookie_header(None)},
        head, HUGE, tail, uploads)
    assert_refused_early(streamed, statuses)
    assert disk_bytes(live.home, skip=("logs",)) - before < MB
    print(f"\n{path}: answer {streamed.status} after {streamed.sent} of {HUGE} body bytes, "
          f"{streamed.seconds:.3f} s; {streamed.most_spooled} bytes spooled")


@pytest.mark.live
def test_live_a_submitters_upload_over_the_limit_is_refused_while_it_streams(live):
    uploads = live.home / "server_files" / "uploads"
    session = login_session(live)
    token = session.get(f"{live.url}/upload/chunked/").cookies["csrftoken"]
    head, tail = multipart_parts("big.fits", token)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **cookie_header(session)}
    huge = stream_post(live, "/upload/chunked/", headers, head, HUGE, tail, uploads)
    assert_refused_early(huge, (413,))
    print(f"\nsubmitter, 200 MB: answer {huge.status} after {huge.sent} body bytes, {huge.seconds:.3f} s")
    # Within the request limit, but the file passes the 1 MB limit: stopped by the upload handler.
    over = stream_post(live, "/upload/chunked/", headers, head, LIVE_UPLOAD_MAX + 500_000, tail, uploads)
    assert over.status == 413 and b"exceeds the upload limit of 1000000" in over.answer
    assert b"csrftoken=" in over.answer
    assert disk_bytes(uploads) == 0
    assert disk_bytes(live.home / "server_files" / "ingest") == 0
    listing = session.get(f"{live.url}/upload/list/").json()
    assert listing["files"] == []


@pytest.mark.live
def test_live_a_chunked_body_without_a_length_is_refused_with_411(live):
    session = login_session(live)
    token = session.get(f"{live.url}/upload/chunked/").cookies["csrftoken"]
    head, tail = multipart_parts("small.fits", token)

    def body() -> Iterator[bytes]:  # a generator makes requests send Transfer-Encoding: chunked
        yield head + b"x" * 1000 + tail

    response = session.post(f"{live.url}/upload/chunked/", data=body(), headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "referer": live.url})
    assert response.status_code == 411 and "Content-Length" in response.json()["files"][0]["error"]


@pytest.mark.live
def test_live_a_content_range_of_5000_digits_is_answered_400(live):
    session = login_session(live)
    token = session.get(f"{live.url}/upload/chunked/").cookies["csrftoken"]
    response = session.post(f"{live.url}/upload/chunked/", data={"csrfmiddlewaretoken": token},
                            files={"files": ("x.fits", b"0123456789")},
                            headers={"Content-Range": f"bytes 0-9/{'9' * 5000}", "referer": live.url})
    assert response.status_code == 400 and "at most 19 digits" in response.json()["files"][0]["error"]


@pytest.mark.live
def test_live_a_keep_alive_client_gets_correct_answers_after_a_refused_body(live):
    head, tail = multipart_parts("big.fits")
    body = head + bytes(300_000) + tail
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    connection.request("POST", "/upload/chunked/", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **cookie_header(None)})
    refused = connection.getresponse()
    assert refused.status == 401 and b"Log in first" in refused.read()
    connection.request("GET", "/health")  # reconnects if the server closed: never reads the body
    health = connection.getresponse()
    assert health.status == 200 and health.read()
    connection.close()
    # Two requests in one write: the unread body must never be taken for the second request.
    lines = (f"POST /upload/chunked/ HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
             f"Content-Length: {len(body)}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}"
             "\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
        sock.sendall(lines + body + f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n\r\n".encode())
        answer = b""
        try:
            for _ in range(100):
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except ConnectionResetError:
            pass
    statuses = re.findall(rb"HTTP/1\.[01] (\d{3})", answer)
    assert statuses[:1] == [b"401"] and all(s == b"200" for s in statuses[1:]), answer[:500]
