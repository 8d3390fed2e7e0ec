"""Difference Files for references: two catalogued references, or an upload against one."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from crds_server.accounts.actions import create_user
from crds_server.catalog import diffs
from crds_server.catalog.models import File
from crds_server.submissions import ingest


@pytest.fixture
def darks(demo_catalog):
    cache.clear()
    names = sorted(File.objects.filter(instrument="acs", filekind="darkfile", type="reference")
                   .values_list("name", flat=True))
    return names[0], names[1]


@pytest.fixture
def homer(db):
    return create_user("homer", "homer@example.org", "submitter")


def test_two_fits_references_are_compared_by_fitsdiff(client, darks):
    response = client.get(f"/diff/{darks[0]}/{darks[1]}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "fitsdiff" in page and "Headers contain differences" in page
    assert f"a: {darks[0]}" in page and "/work/" not in page and "file_cache" not in page


def test_a_reference_against_itself_has_no_differences(client, darks):
    page = client.get(f"/diff/{darks[0]}/{darks[0]}").content.decode()
    assert "No differences" in page


def test_the_answer_is_kept_per_pair_of_checksums(darks, monkeypatch):
    old, new = (File.objects.get(name=n) for n in darks)
    first = diffs.reference_difference(old, new)
    monkeypatch.setattr(diffs, "_run", lambda *a: pytest.fail("compared again"))
    assert diffs.reference_difference(old, new).lines == first.lines


def test_with_every_comparison_slot_taken_a_new_pair_is_answered_503_at_once(client, darks, settings):
    import fcntl

    held = [open(settings.HOME / "run" / f"diff-slot-{n}", "a") for n in range(diffs.SLOTS)]  # noqa: SIM115
    try:
        for handle in held:  # as other workers comparing other pairs would
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        response = client.get(f"/diff/{darks[0]}/{darks[1]}")
        assert response.status_code == 503 and response["Retry-After"] == "60"
        assert "already comparing" in response.content.decode()
    finally:
        for handle in held:
            handle.close()
    assert client.get(f"/diff/{darks[0]}/{darks[1]}").status_code == 200  # slots free again


def test_two_ticked_references_redirect_to_their_difference(client, darks):
    response = client.get("/diff/", {"context": [darks[1], darks[0]]})
    assert response["Location"] == f"/diff/{darks[0]}/{darks[1]}"


def test_a_reference_and_a_mapping_are_not_compared(client, darks):
    response = client.get(f"/diff/{darks[0]}/hst_acs_darkfile_0001.rmap")
    assert response.status_code == 400 and "Cannot compare" in response.content.decode()


def test_references_of_different_kinds_are_not_compared(client, demo_catalog, darks):
    other = File.objects.filter(type="reference").exclude(name__endswith=".fits").first()
    response = client.get(f"/diff/{darks[0]}/{other.name}")
    assert response.status_code == 400 and "different kinds" in response.content.decode()


def test_an_unknown_reference_is_a_404(client, darks):
    assert client.get(f"/diff/{darks[0]}/nosuch_drk.fits").status_code == 404


def test_an_odd_file_is_reported_not_a_500(client, darks, catalog):
    catalog.add_file("zz00000zj_drk.fits", content=b"not a FITS file at all", instrument="acs",
                     filekind="darkfile")
    response = client.get(f"/diff/{darks[0]}/zz00000zj_drk.fits")
    assert response.status_code == 200
    assert "could not compare" in response.content.decode()


def test_a_file_too_large_is_refused_before_any_work(client, darks, monkeypatch):
    monkeypatch.setattr(diffs, "REFERENCE_MAX_BYTES", 10)
    response = client.get(f"/diff/{darks[0]}/{darks[1]}")
    assert response.status_code == 400 and "bytes are compared here" in response.content.decode()


def test_a_slow_comparison_is_stopped(darks, monkeypatch):
    monkeypatch.setattr(diffs, "TIMEOUT_SECONDS", 0.01)
    old, new = (File.objects.get(name=n) for n in darks)
    assert "was stopped" in diffs.reference_difference(old, new).problem


def test_the_upload_comparison_needs_a_login(client, darks):
    response = client.get("/diff/upload/", {"upload": "x.fits", "file": darks[0]})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_upload_is_compared_with_a_catalogued_reference(client, darks, homer, clean_areas):
    folder = ingest.ingest_dir(homer, create=True)
    mine = File.objects.get(name=darks[1]).store_path().read_bytes()
    (folder / "my_new_dark.fits").write_bytes(mine)
    client.force_login(homer)
    page = client.get("/diff/upload/").content.decode()
    assert "<option>my_new_dark.fits</option>" in page
    response = client.get("/diff/upload/", {"upload": "my_new_dark.fits", "file": darks[0]})
    page = response.content.decode()
    assert response.status_code == 200 and "Headers contain differences" in page
    assert "b: my_new_dark.fits" in page and str(folder) not in page
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("query,message", [
    ({"upload": "not_mine.fits", "file": "x.fits"}, "Choose one of the files"),
    ({"upload": "my_new_dark.fits", "file": "nosuch.fits"}, "No file named"),
    ({"upload": "my_new_dark.fits", "file": "../../etc/passwd"}, "No file named"),
    ({"upload": "my_new_dark.fits", "file": "hst_acs_darkfile_0001.rmap"}, "different kinds"),
])
def test_bad_upload_comparisons_are_400_with_the_reason(client, darks, homer, clean_areas, query, message):
    (ingest.ingest_dir(homer, create=True) / "my_new_dark.fits").write_bytes(b"SIMPLE")
    client.force_login(homer)
    response = client.get("/diff/upload/", query)
    assert response.status_code == 400 and message in response.content.decode()


def test_an_uploaded_rmap_gets_the_librarys_logical_and_text_differences(client, darks, homer, clean_areas):
    rmap = File.objects.get(name="hst_acs_darkfile_0001.rmap")
    text = rmap.store_path().read_text().replace(darks[0], "zz00000zj_drk.fits")
    (ingest.ingest_dir(homer, create=True) / "my_darkfile.rmap").write_text(text)
    client.force_login(homer)
    response = client.get("/diff/upload/", {"upload": "my_darkfile.rmap", "file": rmap.name})
    page = response.content.decode()
    assert response.status_code == 200 and "logical and text differences" in page
    assert f"replaced {darks[0]} with zz00000zj_drk.fits" in page


def test_the_home_page_links_logged_in_users_to_difference_files(client, demo_catalog, homer):
    assert "/diff/upload/" not in client.get("/").content.decode()
    client.force_login(homer)
    assert 'href="/diff/upload/"' in client.get("/").content.decode()


@pytest.mark.parametrize("value", ["x" * 5000, "\x00", "../", "a\r\nb", "😀", "%00"])
def test_hostile_upload_comparison_parameters_are_4xx(client, darks, homer, value):
    client.force_login(homer)
    for query in ({"upload": value, "file": darks[0]}, {"upload": "a.fits", "file": value}):
        assert 400 <= client.get("/diff/upload/", query).status_code < 500


@pytest.mark.parametrize("legacy,target", [
    ("/difference/", "/diff/upload/"),
    ("/difference/?upload=a.fits", "/diff/upload/?upload=a.fits"),
    ("/difference/a_drk.fits/b_drk.fits/", "/diff/a_drk.fits/b_drk.fits"),
    ("/context_table/hst_0001.pmap/", "/context_table/hst_0001.pmap"),
    ("/context_table/hst_0001.pmap/1", "/context_table/hst_0001.pmap"),
    ("/bestrefs_explore/?context=hst-latest", "/bestrefs/?context=hst-latest"),
])
def test_stscis_addresses_of_these_pages_redirect_for_good(client, db, legacy, target):
    response = client.get(legacy)
    assert response.status_code == 301 and response["Location"] == target


@pytest.mark.parametrize("legacy", ["/difference/a%0Ab.fits/b.fits/", "/context_table/a%0Ab.pmap/",
                                    "/difference/" + "x" * 300 + "/b.fits/"])
def test_legacy_addresses_with_bad_names_are_404(client, db, legacy):
    assert client.get(legacy).status_code == 404
