"""E-mail notices: recipients, subject, text and HTML parts, escaping, failures."""

from __future__ import annotations

import json
import logging

import pytest

from crds_server.notify import actions, addresses, links
from crds_server.notify.errors import UnknownNoticeKind
from tests.test_security_settings import crds_server, init

CONTEXT = {
    "description": "New darks <script>alert(1)</script> & biases",
    "files": {"my_dark.fits": "hst_acs_drk_0001.fits"},
    "new_context": "hst_0002.pmap",
    "url": "https://crds.example.org/display_result/1234/",
    "errors": [],
}


def _send(kind="confirmed", **overrides) -> int:
    fields = dict(user_email="sub@example.org", username="submitter", subject_detail="hst_0002.pmap",
                  context=CONTEXT)
    return actions.send_notice(kind, **{**fields, **overrides})


def test_a_notice_goes_to_the_submitter_and_the_notify_list(settings, mailoutbox):
    settings.NOTIFY_LIST = ["team@example.org", "sub@example.org"]
    assert _send() == 2
    (mail,) = mailoutbox
    assert mail.to == ["sub@example.org", "team@example.org"]
    assert mail.from_email == settings.DEFAULT_FROM_EMAIL


def test_the_subject_names_the_server_the_kind_and_the_detail(settings, mailoutbox):
    settings.OBSERVATORY, settings.USECASE = "hst", "dev"
    _send()
    assert mailoutbox[0].subject == "[CRDS hst dev] Submission confirmed: hst_0002.pmap"


def test_the_text_part_carries_the_description_files_context_and_link(mailoutbox):
    _send()
    body = mailoutbox[0].body
    assert "submitter's submission was confirmed" in body
    assert "New darks <script>alert(1)</script> & biases" in body
    assert "my_dark.fits -> hst_acs_drk_0001.fits" in body
    assert "New context: hst_0002.pmap" in body
    assert "Results: https://crds.example.org/display_result/1234/" in body


def test_the_html_part_escapes_what_users_wrote(mailoutbox):
    _send()
    html, mimetype = mailoutbox[0].alternatives[0]
    assert mimetype == "text/html"
    assert "<script>" not in html
    assert "New darks &lt;script&gt;alert(1)&lt;/script&gt; &amp; biases" in html
    assert '<a href="https://crds.example.org/display_result/1234/">' in html
    assert "hst_acs_drk_0001.fits" in html


def test_errors_are_listed_in_a_failure_notice(mailoutbox):
    _send("failed", context={"description": "x", "error": "Certify found 2 errors"})
    mail = mailoutbox[0]
    assert mail.subject.endswith("Submission failed: hst_0002.pmap")
    assert "Errors:\n  Certify found 2 errors" in mail.body
    assert "Certify found 2 errors" in mail.alternatives[0][0]


@pytest.mark.parametrize("kind", sorted(actions.NOTICES))
def test_every_kind_renders(kind, mailoutbox):
    assert _send(kind, context={"files": ["hst_0003.cat"], "catalog": "hst_0003.cat"}) == 1
    assert actions.NOTICES[kind][0] in mailoutbox[0].subject


def test_a_newline_in_the_detail_cannot_break_the_subject_header(mailoutbox):
    _send(subject_detail="first line\nBcc: victim@example.org")
    assert mailoutbox[0].subject.endswith("first line Bcc: victim@example.org")
    assert mailoutbox[0].bcc == []


def test_without_any_recipient_nothing_is_sent(settings, mailoutbox):
    settings.NOTIFY_LIST = []
    assert _send(user_email="") == 0
    assert mailoutbox == []


def test_a_failure_to_send_is_logged_not_raised(settings, caplog):
    settings.EMAIL_BACKEND = "tests.test_notify.BrokenBackend"
    with caplog.at_level(logging.ERROR, logger="crds_server.notify.actions"):
        assert _send() == 0
    assert "could not be sent to sub@example.org" in caplog.text


def test_an_unknown_kind_is_a_programming_error(mailoutbox):
    with pytest.raises(UnknownNoticeKind):
        _send("exploded")


class _Submission:
    """What a notice's context["submission"] offers the mailer: its extra answers."""

    def __init__(self, **extra: str) -> None:
        self.extra = extra


def test_a_redcat_submissions_other_email_addresses_are_mailed_too(settings, mailoutbox):
    settings.NOTIFY_LIST = ["team@example.org"]
    context = dict(CONTEXT, submission=_Submission(other_email="a@example.org; b@example.org"))
    assert _send("ready", context=context) == 4
    assert mailoutbox[0].to == ["sub@example.org", "a@example.org", "b@example.org",
                                "team@example.org"]


def test_a_stored_address_that_no_longer_parses_is_skipped_not_fatal(settings, mailoutbox):
    settings.NOTIFY_LIST = []
    context = dict(CONTEXT, submission=_Submission(other_email="a@example.org, nonsense"))
    assert _send(context=context) == 2
    assert mailoutbox[0].to == ["sub@example.org", "a@example.org"]


def test_an_address_list_is_split_on_commas_semicolons_and_blanks_and_bounded():
    assert addresses.parse(" a@example.org,b@example.org; a@example.org\nc@example.org ") == [
        "a@example.org", "b@example.org", "c@example.org"]
    assert addresses.parse("") == []
    with pytest.raises(addresses.AddressError, match="not an e-mail address"):
        addresses.parse("a@example.org, <script>@x")
    with pytest.raises(addresses.AddressError, match="At most 2"):
        addresses.parse("a@example.org b@example.org c@example.org", limit=2)
    assert addresses.lenient("x, a@example.org, " + "b" * 300 + "@example.org") == ["a@example.org"]


@pytest.mark.parametrize("address", ["root@[10.0.0.1]", "root@[127.0.0.1]"])
def test_an_address_at_an_ip_literal_is_refused_and_never_mailed(address):
    with pytest.raises(addresses.AddressError, match="IP address"):
        addresses.parse(f"a@example.org, {address}")
    assert addresses.lenient(f"a@example.org, {address}") == ["a@example.org"]


@pytest.mark.parametrize("usecase", ["test", "ops"])
def test_a_test_or_ops_server_mails_no_link_to_the_machine_itself_and_says_why(settings, mailoutbox,
                                                                                 usecase):
    settings.USECASE, settings.PUBLIC_URL = usecase, "http://127.0.0.1:8000"
    _send(context=dict(CONTEXT, url="http://127.0.0.1:8000/display_result/1234"))
    mail = mailoutbox[0]
    html, _ = mail.alternatives[0]
    assert "127.0.0.1" not in mail.body.replace("(it would be http://127.0.0.1:8000)", "")
    assert "Links are left out" in mail.body and "CRDS_SERVER_PUBLIC_URL" in mail.body
    assert 'href="http://127.0.0.1' not in html and "Links are left out" in html


def test_a_dev_server_keeps_its_loopback_links(settings, mailoutbox):
    settings.USECASE, settings.PUBLIC_URL = "dev", "http://127.0.0.1:8000"
    _send(context=dict(CONTEXT, url="http://127.0.0.1:8000/display_result/1234"))
    assert "Results: http://127.0.0.1:8000/display_result/1234" in mailoutbox[0].body
    assert "Links are left out" not in mailoutbox[0].body


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8000", True), ("http://127.8.0.1", True), ("http://localhost:8001", True),
    ("http://[::1]:8000", True), ("http://0.0.0.0:8000", True), ("https://hst-crds.example.org", False),
    ("http://10.1.2.3:8000", False), ("http://localhost.example.org", False)])
def test_loopback_urls_are_recognised(url, loopback):
    assert links.is_loopback(url) is loopback


def test_the_deploy_check_warns_of_a_loopback_public_url_on_test_and_ops(settings):
    settings.USECASE, settings.PUBLIC_URL = "ops", "http://localhost:8001"
    assert [m.id for m in links.check_public_url()] == ["crds_server.notify.W001"]
    settings.PUBLIC_URL = "https://hst-crds.example.org"
    assert links.check_public_url() == []


NEW_DELIVERY = """
from crds_server.deliveries.models import Delivery
Delivery.objects.create(number={n}, catalog="hst_000{n}.cat", files=["x_drk.fits"], user="homer")
"""


@pytest.fixture(scope="module")
def test_home(tmp_path_factory):
    """A test server's home, as `crds-server init` leaves it."""
    home = tmp_path_factory.mktemp("mail-home") / "home"
    init(home, "test")
    (home / "server_files" / "deliveries").mkdir(parents=True, exist_ok=True)
    return home


def _archived_mail_of_a_command(home, number: int) -> str:
    """The archived notice `crds-server watch-deliveries` prints (console backend), run as cron
    runs it: with no CRDS_SERVER_PUBLIC_URL in its environment."""
    env = {"CRDS_SERVER_ALLOWED_HOSTS": "hst-crds-test.example.org",
           "CRDS_SERVER_NOTIFY": "team@example.org"}
    made = crds_server(home, "shell", "-c", NEW_DELIVERY.format(n=number), **env)
    assert made.returncode == 0, made.stderr[-3000:]
    done = crds_server(home, "watch-deliveries", **env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Delivery archived" in done.stdout, done.stdout[-3000:]
    return done.stdout


def test_a_command_without_the_environment_mails_the_public_url_of_server_json(test_home):
    identity = test_home / "server.json"
    saved = identity.read_text()
    try:
        identity.write_text(json.dumps({**json.loads(saved),
                                        "public_url": "https://hst-crds-test.example.org/"}))
        mail = _archived_mail_of_a_command(test_home, 1)
    finally:
        identity.write_text(saved)
    assert "CRDS hst test server, https://hst-crds-test.example.org\n" in mail
    assert "127.0.0.1" not in mail


def test_a_command_that_knows_no_public_url_mails_no_loopback_link(test_home):
    mail = _archived_mail_of_a_command(test_home, 2)
    assert "Links are left out" in mail and "http://127.0.0.1:8000/" not in mail
    assert "server, http://127.0.0.1" not in mail  # the footer's link to the server
    assert 'href="http://127.0.0.1' not in mail


class BrokenBackend:
    """An e-mail backend whose server is down."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages) -> int:
        raise ConnectionRefusedError("SMTP server down")
