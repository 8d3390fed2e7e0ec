"""fitsverify stops a submission; without it the server says so everywhere and delivers no FITS file."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from astropy.io import fits
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from crds_server.catalog import contexts
from crds_server.catalog.models import File
from crds_server.submissions import fitsverify, ingest
from crds_server.submissions.models import Submission
from tests.submitting import persona, run
from tests.test_certify_equivalence import WCP_OLD, _truncated, _wcp_table

needs_fitsverify = pytest.mark.skipif(not fitsverify.path(), reason="fitsverify is not installed")


@pytest.fixture
def lisa(demo_catalog):
    """A submitter holding the COS lock."""
    user = persona("lisa", instrument="cos")
    yield user
    shutil.rmtree(ingest.ingest_dir(user), ignore_errors=True)


@pytest.fixture
def no_fitsverify(tmp_path, monkeypatch):
    """A PATH without fitsverify (but with the `which` the library looks for it with)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    which = shutil.which("which")
    if which:
        os.symlink(which, folder / "which")
    monkeypatch.setenv("PATH", str(folder))
    assert fitsverify.path() is None


def _cut_table(user) -> Path:
    """A COS WCPTAB cut short in its table: astropy only warns, fitsverify finds the error."""
    folder = ingest.ingest_dir(user, create=True)
    header = fits.getheader(Path(settings.FILE_CACHE) / "references" / "hst" / WCP_OLD)
    header["USEAFTER"] = "Jan 01 2005 00:00:00"
    table = _wcp_table(header, ["G130M", "G160M"] * 20, folder / "whole.fits")
    cut = _truncated(folder, table, "cut_wcp.fits")
    table.unlink()
    return cut


@needs_fitsverify
def test_a_file_only_fitsverify_refuses_fails_a_batch_submission_and_makes_no_rule(lisa):
    _cut_table(lisa)
    edit = contexts.pointer("edit")
    submission = run(lisa, "cos", "batch", compare_old_reference="True")
    assert submission.status == Submission.FAILED
    assert "Fitsverify" in submission.error and "cut_wcp.fits" in submission.error
    assert contexts.pointer("edit") == edit
    assert not File.objects.filter(state="uploaded").exists()


def test_without_fitsverify_a_submission_of_fits_files_is_refused_and_says_why(lisa, no_fitsverify):
    _cut_table(lisa)
    submission = run(lisa, "cos", "batch")
    assert submission.status == Submission.FAILED
    assert "fitsverify is not installed" in submission.error
    assert not File.objects.filter(state="uploaded").exists()


def test_without_fitsverify_a_certification_warns_and_reports_it_did_not_run(lisa, no_fitsverify):
    _cut_table(lisa)
    submission = run(lisa, "none", "certify")
    report = submission.result["certify"]
    check = next(c for c in report["checks"] if c["check"] == "fitsverify")
    assert check["ran"] is False and "not installed" in check["detail"]
    warnings = report["files"]["cut_wcp.fits"]["warnings"]
    assert any("fitsverify program is enabled but not found" in w for w in warnings)
    assert report["files"]["cut_wcp.fits"]["errors"] == []  # what the library alone says


@pytest.mark.django_db
def test_health_says_whether_fitsverify_is_installed(client, monkeypatch, tmp_path):
    found = fitsverify.path()
    answer = client.get("/health").json()
    assert answer["checks"]["fitsverify"] == (f"ok: {found}" if found else f"missing: {fitsverify.MISSING}")
    monkeypatch.setenv("PATH", str(tmp_path))
    answer = client.get("/health").json()
    assert answer["checks"]["fitsverify"].startswith("missing: fitsverify is not installed")
    assert answer["status"] == "ok"  # the server still serves


def _check_deploy() -> str:
    """What `crds-server check --deploy` prints.  Its system checks run first; the store
    check after them may fail on files other tests of this process left, which is not
    what these tests look at."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check", "--deploy", "--sha1-sample", "0", stdout=out, stderr=err)
    except CommandError:
        pass
    return out.getvalue() + err.getvalue()


@pytest.mark.django_db
def test_check_deploy_warns_when_fitsverify_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "crds_server.submissions.W001" in _check_deploy()
    monkeypatch.undo()
    if fitsverify.path():
        assert "crds_server.submissions.W001" not in _check_deploy()
