"""Pages of step 1-2: home, health, recent activity."""

from __future__ import annotations

import pytest

from crds_server.catalog.models import AuditEntry


def test_the_home_page_shows_the_contexts_and_how_to_use_the_client(client, demo_catalog):
    page = client.get("/").content.decode()
    assert demo_catalog.context in page
    assert "CRDS_SERVER_URL" in page
    assert 'id="error_message"' not in page


def test_health_reports_the_database_and_file_store(client, db):
    answer = client.get("/health").json()
    assert answer["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_recent_activity_lists_and_filters_audit_entries(client):
    AuditEntry.objects.create(user="alice", action="set context", filename="hst_0002.pmap", why="darks")
    AuditEntry.objects.create(user="bob", action="break lock", filename="acs", why="stuck")
    page = client.get("/recent_activity/?extension=*").content.decode()
    assert "hst_0002.pmap" in page and "break lock" in page
    filtered = client.get("/recent_activity/", {"user": "bob"}).content.decode()
    assert "break lock" in filtered and "hst_0002.pmap" not in filtered


@pytest.mark.django_db
def test_recent_activity_escapes_what_people_typed(client):
    AuditEntry.objects.create(user="eve", action="set context", why="<script>alert(1)</script>")
    page = client.get("/recent_activity/?extension=*").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
