"""Recent activity (P13): server-side filters, pages, shareable addresses, bad filters refused."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from crds_server.catalog import activity, versioning
from crds_server.catalog.models import AuditEntry, File


def _log(user: str, action: str, filename: str, day: datetime.date, why: str = "") -> AuditEntry:
    entry = AuditEntry.objects.create(user=user, action=action, filename=filename, why=why)
    moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)), datetime.UTC)
    AuditEntry.objects.filter(pk=entry.pk).update(date=moment)
    return entry


@pytest.fixture
def logged(demo_catalog):
    """Audit entries on demo files of two instruments, a lock and a delivery catalog, on known days."""
    AuditEntry.objects.all().delete()
    acs_rmap = "hst_acs_darkfile_0001.rmap"
    acs_ref = File.objects.references().filter(instrument="acs", filekind="darkfile").first().name
    wfc3_ref = File.objects.references().filter(instrument="wfc3").exclude(filekind="darkfile").first()
    _log("alice", "submit file", demo_catalog.context, datetime.date(2024, 1, 10), "new darks")
    _log("alice", "mark bad", acs_ref, datetime.date(2024, 2, 10), "noisy")
    _log("bob", "mark bad", wfc3_ref.name, datetime.date(2024, 3, 10), "striped")
    _log("bob", "set context", acs_rmap, datetime.date(2024, 4, 10))
    _log("carol", "break lock", "acs", datetime.date(2024, 5, 10))
    _log("archive", "deliver", "hst_00001.cat", datetime.date(2024, 6, 10))
    return {"acs_ref": acs_ref, "acs_rmap": acs_rmap, "wfc3_ref": wfc3_ref.name,
            "wfc3_kind": wfc3_ref.filekind, "pmap": demo_catalog.context}


def _shown(client, **query) -> str:
    response = client.get("/recent_activity/", query)
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.content.decode()


def _files(client, **query) -> list[str]:
    names = [row.filename for row in activity.recent_activity(activity.ActivityFilter(**query))]
    page = _shown(client, **query)
    for name in names:
        assert f">{name}<" in page
    return names


def test_unfiltered_activity_lists_everything_newest_first(client, logged):
    # An address naming a filter, even blank (as the form sends it), drops the .pmap default.
    assert _files(client, extension="") == ["hst_00001.cat", "acs", logged["acs_rmap"], logged["wfc3_ref"],
                                            logged["acs_ref"], logged["pmap"]]
    assert "6 actions." in _shown(client, extension="")


def test_the_extension_filter_keeps_only_files_ending_so(client, logged):
    assert _files(client, extension=".pmap") == [logged["pmap"]]
    assert _files(client, extension="rmap") == [logged["acs_rmap"]]
    assert _files(client, extension=".cat") == ["hst_00001.cat"]
    page = _shown(client, extension=".pmap")
    assert f">{logged['acs_ref']}<" not in page and "1 action." in page


def test_the_instrument_filter_joins_the_catalog_and_keeps_lock_actions(client, logged):
    assert _files(client, instrument="acs") == ["acs", logged["acs_rmap"], logged["acs_ref"]]
    assert _files(client, instrument="wfc3") == [logged["wfc3_ref"]]


def test_the_type_filter_joins_the_catalog(client, logged):
    assert _files(client, filekind="darkfile") == [logged["acs_rmap"], logged["acs_ref"]]
    assert _files(client, filekind=logged["wfc3_kind"]) == [logged["wfc3_ref"]]


def test_user_action_and_file_name_filters_combine(client, logged):
    assert _files(client, user="bob") == [logged["acs_rmap"], logged["wfc3_ref"]]
    assert _files(client, action="mark bad", user="alice") == [logged["acs_ref"]]
    assert _files(client, filename="darkfile") == [logged["acs_rmap"]]
    assert _files(client, filename="hst_*.cat") == ["hst_00001.cat"]


def test_the_date_range_includes_both_ends(client, logged):
    assert _files(client, start="2024-02-10", stop="2024-04-10") == [
        logged["acs_rmap"], logged["wfc3_ref"], logged["acs_ref"]]
    assert _files(client, start="2024-06-01") == ["hst_00001.cat"]
    assert _files(client, stop="2023-12-31") == []
    assert "No action matches these filters." in _shown(client, stop="2023-12-31")


def test_the_page_links_keep_the_filters(client, logged):
    for day in range(1, 131):
        _log("dave", "mark ok", logged["acs_ref"], datetime.date(2023, 1, 1) + datetime.timedelta(days=day))
    page = _shown(client, user="dave", instrument="acs")
    assert "131 actions." not in page and "130 actions." in page
    assert "Page 1 of 2" in page
    assert "user=dave&amp;instrument=acs" in page and "page=2" in page
    second = _shown(client, user="dave", instrument="acs", page="2")
    assert "Page 2 of 2" in second and second.count("<td>dave</td>") == 30
    assert _shown(client, user="dave", page="999").count("<td>dave</td>") == 30  # the last page


def test_the_form_shows_the_filters_it_was_given(client, logged):
    page = _shown(client, action="mark bad", instrument="acs", filekind="darkfile", extension=".fits")
    assert '<option value="mark bad" selected>' in page
    assert '<option value="acs" selected>' in page
    assert '<option value="darkfile" selected>' in page
    assert 'value=".fits"' in page and 'list="extension-choices"' in page


@pytest.mark.parametrize("query", [
    {"action": "no such action"}, {"instrument": "nosuch"}, {"filekind": "<script>"},
    {"extension": "../etc"}, {"extension": "x" * 50}, {"start": "2024-13-45"}, {"stop": "yesterday"},
    {"start": "2024-02-01", "stop": "2024-01-01"}, {"filename": "*a" * 40},
    {"user": "x" * 5000},
])
def test_bad_filters_give_a_400_with_the_form_marked(client, logged, query):
    response = client.get("/recent_activity/", query)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Some filters need fixing" in page and "<script>" not in page


def test_a_nul_in_a_filter_is_refused_before_the_page(client, logged):
    assert client.get("/recent_activity/", {"filename": "a\x00b"}).status_code == 400


def test_a_bad_page_number_gives_a_page_not_an_error(client, logged):
    assert client.get("/recent_activity/", {"page": "x" * 500}).status_code == 200
    assert client.get("/recent_activity/", {"page": "-1"}).status_code == 200


def test_recent_activity_needs_few_queries(client, logged, django_assert_max_num_queries):
    # A bound that does not grow with the entries listed (no query per row); PostgreSQL and
    # MariaDB open their connection with a query or two that SQLite does not need.
    with django_assert_max_num_queries(12):
        client.get("/recent_activity/", {"instrument": "acs", "filekind": "darkfile", "start": "2024-01-01"})


def test_the_menus_follow_new_actions_and_catalog_changes(client, logged, catalog):
    assert "rename" not in activity.filter_choices()["action"]
    _log("erin", "rename", logged["acs_ref"], datetime.date(2024, 7, 1))
    assert "rename" in activity.filter_choices()["action"]
    assert _files(client, action="rename") == [logged["acs_ref"]]
    catalog.add_file("hst_newinst_0001.rmap", b"x", instrument="newinst", filekind="newkind")
    versioning.bump()  # as every action that changes the catalog does
    assert "newinst" in activity.filter_choices()["instrument"]
    assert client.get("/recent_activity/", {"instrument": "newinst"}).status_code == 200
