"""Best references from an uploaded dataset's FITS header, and download links on the results."""

from __future__ import annotations

import io

import pytest
from astropy.io import fits
from django.core.files.uploadedfile import SimpleUploadedFile

from crds_server.accounts.actions import create_user
from crds_server.catalog import dataset_headers


def _acs_header(demo_catalog) -> dict:
    return next(d for d in demo_catalog.datasets if d["header"].get("INSTRUME") == "ACS")["header"]


def _fits_bytes(header: dict) -> bytes:
    hdu = fits.PrimaryHDU()
    for key, value in header.items():
        if not key.startswith(("NAXIS", "SIMPLE", "BITPIX", "EXTEND")):  # astropy writes its own
            hdu.header[key] = value
    buffer = io.BytesIO()
    fits.HDUList([hdu]).writeto(buffer)
    return buffer.getvalue()


@pytest.fixture
def homer(db):
    return create_user("homer", "homer@example.org", "submitter")


def test_an_uploaded_fits_file_gives_best_references_with_download_links(client, demo_catalog, homer):
    client.force_login(homer)
    upload = SimpleUploadedFile("dataset_raw.fits", _fits_bytes(_acs_header(demo_catalog)))
    response = client.post("/bestrefs/", {"context": demo_catalog.context, "fits": upload})
    page = response.content.decode()
    assert response.status_code == 200
    results = page[page.index('id="results-heading"'):]
    dark = next(part.split('"')[0] for part in results.split('href="/browse/')[1:] if "_drk.fits" in part)
    assert f'href="/unchecked_get/references/hst/{dark}" download' in results
    assert "DETECTOR = " in page  # the header read is shown in the box


def test_an_uploaded_file_that_is_not_fits_is_a_400_with_the_reason(client, demo_catalog, homer):
    client.force_login(homer)
    upload = SimpleUploadedFile("dataset_raw.fits", b"this is not FITS" * 100)
    response = client.post("/bestrefs/", {"context": demo_catalog.context, "fits": upload})
    assert response.status_code == 400
    assert 'id="header-error"' in response.content.decode()


def test_an_upload_over_the_limit_is_refused(client, demo_catalog, homer, monkeypatch):
    monkeypatch.setattr(dataset_headers, "UPLOAD_MAX_BYTES", 100)
    client.force_login(homer)
    upload = SimpleUploadedFile("dataset_raw.fits", _fits_bytes(_acs_header(demo_catalog)))
    response = client.post("/bestrefs/", {"context": demo_catalog.context, "fits": upload})
    assert response.status_code == 400 and "datasets up to 100 bytes" in response.content.decode()


def test_the_uploaded_file_is_not_kept(client, demo_catalog, homer, settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # through a temporary file on disk
    client.force_login(homer)
    upload = SimpleUploadedFile("dataset_raw.fits", _fits_bytes(_acs_header(demo_catalog)))
    assert client.post("/bestrefs/", {"context": demo_catalog.context, "fits": upload}).status_code == 200
    assert list(tmp_path.iterdir()) == []


def test_anonymous_visitors_send_the_header_not_the_file(client, demo_catalog):
    upload = SimpleUploadedFile("dataset_raw.fits", _fits_bytes(_acs_header(demo_catalog)))
    response = client.post("/bestrefs/", {"context": demo_catalog.context, "fits": upload})
    assert response.status_code == 401
    page = client.get("/bestrefs/").content.decode()
    assert 'type="file" id="fits"' in page and "the file itself is not sent" in page


def test_pasted_header_results_link_to_downloads_too(client, demo_catalog):
    text = "\n".join(f"{k} = '{v}'" for k, v in _acs_header(demo_catalog).items())
    page = client.post("/bestrefs/", {"context": demo_catalog.context, "header": text}).content.decode()
    assert 'href="/unchecked_get/references/hst/' in page
