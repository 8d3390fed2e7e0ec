"""O11: the admin console, for operators only, a viewer but for free text, never adding."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from crds_server.accounts.actions import create_user
from crds_server.catalog import versioning
from crds_server.catalog.models import AuditEntry, ContextHistory, File, RemoteContext
from crds_server.locks import actions as locks
from crds_server.submissions.models import Submission

# One model of every app, as the admin index names them.
MODELS = ["/admin/catalog/file/", "/admin/catalog/contexthistory/", "/admin/catalog/contextpointer/",
          "/admin/catalog/buildcontext/", "/admin/catalog/auditentry/", "/admin/catalog/cacheimport/",
          "/admin/catalog/remotecontext/", "/admin/submissions/submission/", "/admin/deliveries/delivery/",
          "/admin/locks/instrumentlock/", "/admin/datasets/dataset/", "/admin/reprocessing/affectedrun/",
          "/admin/reprocessing/affectedchunk/", "/admin/replica/replicastate/",
          "/admin/accounts/apitoken/", "/admin/security/pipelinekey/"]


@pytest.fixture
def operator(demo_catalog, client):
    """Marge, an operator, logged in; the demo catalog imported."""
    marge = create_user("marge", "marge@example.org", "operator", "pw")
    client.force_login(marge)
    return marge


def _row(name: str) -> File:
    return File.objects.get(name=name)


def test_anonymous_visitors_go_to_the_sites_own_login_and_back(client, db):
    first = client.get("/admin/")
    assert first.status_code == 302 and first["Location"] == "/admin/login/?next=/admin/"
    second = client.get(first["Location"])
    assert second.status_code == 302 and second["Location"] == "/login/?next=%2Fadmin%2F"


def test_the_admin_login_never_sends_anyone_elsewhere(client, db):
    response = client.get("/admin/login/?next=https://evil.example/admin/")
    assert response["Location"] == "/login/?next=%2Fadmin%2F"


def test_submitters_cannot_enter_and_staff_without_the_operator_role_see_no_model(client, db):
    client.force_login(create_user("homer", "homer@example.org", "submitter", "pw"))
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/catalog/file/").status_code == 302
    staff = User.objects.create_user("smithers", password="pw", is_staff=True)
    client.force_login(staff)
    index = client.get("/admin/").content.decode()
    assert "/admin/catalog/file/" not in index
    assert client.get("/admin/catalog/file/").status_code == 403


def test_operators_see_the_models_of_every_app(client, operator):
    index = client.get("/admin/").content.decode()
    for url in MODELS:
        assert url in index, url
        assert client.get(url).status_code == 200, url


def test_operators_may_not_manage_users_from_the_console(client, operator):
    assert "/admin/auth/user/" not in client.get("/admin/").content.decode()
    assert client.get("/admin/auth/user/").status_code == 403


def test_the_file_list_filters_and_searches_on_the_server(client, operator, demo_catalog):
    acs = client.get("/admin/catalog/file/?instrument__exact=acs&type__exact=mapping").content.decode()
    assert "hst_acs_darkfile_0001.rmap" in acs and "hst_wfc3" not in acs
    latest = client.get("/admin/catalog/file/?state__exact=latest").content.decode()
    assert demo_catalog.context in latest and "hst_acs_0001.imap" not in latest
    found = client.get("/admin/catalog/file/?q=darkfile_0001").content.decode()
    assert "hst_acs_darkfile_0001.rmap" in found and "hst_acs_biasfile" not in found
    sha = _row("hst_acs_0001.imap").sha1sum
    assert "hst_acs_0001.imap" in client.get(f"/admin/catalog/file/?q={sha}").content.decode()


def test_the_file_list_costs_the_same_few_queries_whatever_the_catalog_size(
        client, operator, django_assert_max_num_queries):
    assert File.objects.count() > 50
    with django_assert_max_num_queries(12):
        assert client.get("/admin/catalog/file/?state__exact=archived&o=2").status_code == 200


def test_bad_filter_values_are_a_clear_answer_never_an_error(client, operator):
    assert client.get("/admin/catalog/file/?rejected__exact=maybe").status_code in (200, 302, 400)
    assert client.get("/admin/catalog/file/?nonsense__in=1").status_code in (200, 302, 400)
    assert client.get("/admin/catalog/file/?p=99999").status_code in (200, 302, 404)
    assert client.get("/admin/submissions/submission/?q=not-a-uuid").status_code == 200
    assert client.get("/admin/catalog/file/999999999/change/").status_code == 302  # "no such file"


def test_identity_and_integrity_fields_are_read_only_and_free_text_is_editable(client, operator):
    row = _row("hst_acs_darkfile_0001.rmap")
    page = client.get(f"/admin/catalog/file/{row.pk}/change/").content.decode()
    for field in ("description", "comment"):
        assert f'name="{field}"' in page, field
    for field in ("name", "sha1sum", "size", "state", "rejected", "blacklisted", "instrument"):
        assert f'name="{field}"' not in page, field
    assert row.sha1sum in page


def test_an_edit_changes_only_the_free_text_and_is_audited_and_seen_at_once(client, operator):
    row = _row("hst_acs_darkfile_0001.rmap")
    before = versioning.current()
    response = client.post(f"/admin/catalog/file/{row.pk}/change/", {
        "description": "Dark rules, INS ticket 42", "comment": "", "creator_name": "", "deliverer_email": "",
        "name": "renamed.rmap", "sha1sum": "0" * 40, "state": "bad", "rejected": "on"})
    assert response.status_code == 302
    after = _row("hst_acs_darkfile_0001.rmap")
    assert after.description == "Dark rules, INS ticket 42"
    assert (after.sha1sum, after.state, after.rejected) == (row.sha1sum, row.state, row.rejected)
    entry = AuditEntry.objects.get(action="admin edit")
    assert entry.user == "marge" and entry.filename == row.name and "changed description" in entry.details
    assert versioning.current() > before


def test_free_text_follows_the_one_rule_for_descriptions(client, operator):
    row = _row("hst_acs_darkfile_0001.rmap")
    response = client.post(f"/admin/catalog/file/{row.pk}/change/", {
        "description": "<script>alert(1)</script>", "comment": "", "creator_name": "", "deliverer_email": ""})
    assert response.status_code == 200 and "may only hold" in response.content.decode()
    assert _row(row.name).description == row.description
    assert not AuditEntry.objects.filter(action="admin edit").exists()


def test_a_history_reason_may_be_corrected_but_never_its_date_or_context(client, operator):
    era = ContextHistory.objects.first()
    response = client.post(f"/admin/catalog/contexthistory/{era.pk}/change/", {
        "description": "Corrected reason", "context": "hst_9999.pmap", "start_date": "2001-01-01"})
    assert response.status_code == 302
    era.refresh_from_db()
    assert era.description == "Corrected reason" and era.context != "hst_9999.pmap"


def test_nothing_is_ever_added_and_catalog_rows_are_never_deleted(client, operator):
    row = _row("hst_acs_darkfile_0001.rmap")
    assert client.get("/admin/catalog/file/add/").status_code == 403
    assert client.post(f"/admin/catalog/file/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post("/admin/catalog/file/", {"action": "delete_selected", "_selected_action": [row.pk],
                                                "post": "yes"}).status_code in (200, 302)
    assert File.objects.filter(pk=row.pk).exists()
    assert client.get("/admin/catalog/auditentry/add/").status_code == 403


def test_submissions_and_locks_are_only_shown_their_actions_move_them(client, operator, demo_catalog):
    homer = create_user("homer", "homer@example.org", "submitter", "pw")
    lock = locks.acquire(homer, "acs")
    sub = Submission.objects.create(user=homer, derive_from=demo_catalog.context, description="x")
    assert client.get(f"/admin/submissions/submission/{sub.pk}/change/").status_code == 200
    change = client.post(f"/admin/submissions/submission/{sub.pk}/change/", {"status": "confirmed"})
    assert change.status_code == 403
    assert client.post(f"/admin/locks/instrumentlock/{lock.pk}/delete/", {"post": "yes"}).status_code == 403
    sub.refresh_from_db()
    assert sub.status == Submission.QUEUED and homer.locks.count() == 1


def test_a_retired_pipelines_report_may_be_deleted_and_the_deletion_is_audited(
        client, operator, demo_catalog):
    report = RemoteContext.objects.create(pipeline="old-pipeline", key_hash="x", context=demo_catalog.context)
    url = f"/admin/catalog/remotecontext/{report.pk}/"
    assert "key_hash" not in client.get(url + "change/").content.decode()
    assert client.post(url + "delete/", {"post": "yes"}).status_code == 302
    assert not RemoteContext.objects.exists()
    entry = AuditEntry.objects.get(action="admin delete")
    assert entry.user == "marge" and "old-pipeline" in entry.details


def test_secrets_are_never_shown(client, operator):
    from crds_server.accounts.actions import create_token
    from crds_server.security.actions import create_pipeline_key
    from crds_server.security.models import PipelineKey

    create_token(operator, "laptop")
    create_pipeline_key("marge", "ops-pipeline")
    digest = PipelineKey.objects.get().digest
    for url in ("/admin/security/pipelinekey/1/change/", "/admin/accounts/apitoken/1/change/"):
        page = client.get(url).content.decode()
        assert "digest" not in page.lower() and digest not in page, url


def test_the_admin_logout_is_the_sites_and_drops_the_lock(demo_catalog):
    browser = Client()
    homer = create_user("homer", "homer@example.org", "operator", "pw")
    locks.acquire(homer, "acs")
    browser.force_login(homer)
    response = browser.post("/admin/logout/")
    assert response.status_code == 302 and response["Location"] == "/logout/"
    browser.get("/logout/")
    assert homer.locks.count() == 0


def test_the_admin_styles_are_served_without_collectstatic(client, db):
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content)
    assert client.get("/static/admin/css/no-such.css").status_code == 404
    assert client.get("/static/admin/../../__init__.py").status_code in (400, 404)
    assert client.post("/static/admin/css/base.css").status_code == 405
