"""Browse the catalog and file details pages."""

from __future__ import annotations

from django.utils import timezone

from crds_server.catalog.models import AuditEntry, File


def test_browse_lists_the_catalog_with_totals_and_pages(client, demo_catalog):
    response = client.get("/browse/")
    page = response.content.decode()
    assert response.status_code == 200
    assert f"{File.objects.count()} files" in page
    assert "Page 1 of" in page
    assert "max-age=60" in response["Cache-Control"]


def test_browse_filters_by_instrument_kind_extension_and_glob(client, demo_catalog):
    page = client.get("/browse/", {"instrument": "acs", "kind": "mapping", "extension": "rmap",
                                   "name": "hst_acs_dark*"}).content.decode()
    assert "hst_acs_darkfile_0001.rmap" in page
    assert "hst_acs_biasfile_0001.rmap" not in page
    assert "1 file," in page


def test_browse_filters_bad_files(client, demo_catalog):
    File.objects.filter(name="hst_acs_darkfile_0001.rmap").update(blacklisted=True)
    page = client.get("/browse/", {"bad": "bad"}).content.decode()
    assert "hst_acs_darkfile_0001.rmap" in page and "1 file," in page


def test_browse_sorts_only_by_whitelisted_columns(client, demo_catalog):
    biggest = File.objects.order_by("-size", "name").first().name
    smallest = File.objects.order_by("size", "name").first().name
    page = client.get("/browse/", {"sort": "-size"}).content.decode()
    assert f">{biggest}<" in page and f">{smallest}<" not in page
    response = client.get("/browse/", {"sort": "sha1sum"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_browse_shows_the_form_again_with_a_bad_date_marked(client, demo_catalog):
    response = client.get("/browse/", {"start": "2024-13-45", "name": "<b>x</b>"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid date" in page
    assert 'aria-invalid="true"' in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_browse_rejects_a_stop_date_before_the_start(client, demo_catalog):
    page = client.get("/browse/", {"start": "2024-02-01", "stop": "2024-01-01"}).content.decode()
    assert "before the start date" in page


def test_browse_rejects_an_unknown_instrument(client, demo_catalog):
    assert client.get("/browse/", {"instrument": "nosuch"}).status_code == 400


def test_browse_needs_few_queries_whatever_the_page_size(client, demo_catalog, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        client.get("/browse/")


def test_reference_details_show_fields_header_users_and_download(client, demo_catalog):
    name = sorted(File.objects.references().filter(name__endswith=".fits").values_list("name", flat=True))[0]
    File.objects.filter(name=name).update(activation_date=timezone.now())
    AuditEntry.objects.create(user="alice", action="mark bad", filename=name, why="<i>noisy</i>")
    response = client.get(f"/browse/{name}")
    page = response.content.decode()
    assert response.status_code == 200
    assert f"/unchecked_get/references/hst/{name}" in page
    assert "Keywords" in page and "INSTRUME" in page
    assert ".rmap" in page  # used by an rmap of the latest context
    assert "mark bad" in page and "&lt;i&gt;noisy&lt;/i&gt;" in page
    assert "max-age=3600" in response["Cache-Control"]


def test_details_of_a_file_never_activated_are_cached_briefly(client, demo_catalog):
    """Its activation date is set when a context naming it becomes latest."""
    name = File.objects.references().filter(activation_date__isnull=True).first().name
    assert "max-age=60" in client.get(f"/browse/{name}")["Cache-Control"]


def test_rmap_details_show_the_rules_as_a_table_and_text(client, demo_catalog):
    page = client.get("/browse/hst_acs_darkfile_0001.rmap").content.decode()
    assert "<th scope=\"col\">DETECTOR</th>" in page and "USEAFTER" in page
    assert "selector = " in page or "UseAfter" in page
    assert "hst_acs_0001.imap" in page  # its parent


def test_pmap_details_link_to_the_context_table(client, demo_catalog):
    page = client.get(f"/browse/{demo_catalog.context}").content.decode()
    assert f"/context_table/{demo_catalog.context}" in page


def test_fits_table_details_summarise_extensions(client, catalog, tmp_path):
    import numpy as np
    from astropy.io import fits

    columns = fits.ColDefs([fits.Column(name="DETCHIP", format="J", array=np.arange(3)),
                            fits.Column(name="GAIN", format="E", array=np.ones(3))])
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns, name="GAINS")])
    hdus[0].header["INSTRUME"] = "ACS"
    hdus.writeto(tmp_path / "t.fits")
    catalog.add_file("abc_ccd.fits", (tmp_path / "t.fits").read_bytes(), instrument="acs")
    page = client.get("/browse/abc_ccd.fits").content.decode()
    assert "GAINS" in page and "DETCHIP, GAIN" in page and "BINTABLE" in page


def test_json_reference_details_show_the_meta_tree(client, catalog):
    catalog.add_file("jwst_miri_x_0001.json", b'{"meta": {"instrument": {"name": "MIRI"}}}')
    page = client.get("/browse/jwst_miri_x_0001.json").content.decode()
    assert "META.INSTRUMENT.NAME" in page and "MIRI" in page


def test_an_unknown_file_gives_the_404_page_with_a_search_box(client, db):
    response = client.get("/browse/<script>nosuch.fits")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'role="search"' in page and 'name="name"' in page
    assert "<script>nosuch" not in page


def test_the_500_page_says_what_to_do_instead_of_a_stack_trace(rf):
    from django.views.defaults import server_error

    response = server_error(rf.get("/browse/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Try again" in page and "Traceback" not in page


def test_reference_details_show_the_certification_constraints_of_its_type(client, demo_catalog):
    from crds_server.catalog.models import File

    bias = File.objects.filter(instrument="acs", filekind="biasfile").first()
    page = client.get(f"/browse/{bias.name}").content.decode()
    assert "Certification constraints" in page
    assert "DETECTOR" in page and "WFC" in page
