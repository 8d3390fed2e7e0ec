"""`crds-server demo --story`: a lived-in server made with the server's own actions, HST and JWST."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live import manage

ROOT = str(Path(__file__).resolve().parents[1])

# Runs inside the demo server (`crds-server shell -c`): reads its state back with the
# server's own models and computes best references for every demo dataset the way the
# bestrefs RPC does (conditioned, types chosen, header minimised).
STATE = r"""
import json, sys
sys.path.insert(0, {root!r})
from crds_server.catalog.bestrefs import best_references
from crds_server.catalog import contexts
from crds_server.catalog.models import ContextHistory, File
from crds_server.datasets.models import Dataset
from crds_server.deliveries.models import Delivery
from crds_server.reprocessing.models import AffectedRun
from crds_server.submissions.models import Submission
from crds.core import rmap
from crds_server.submissions.certify import certify_files
from django.conf import settings
latest = contexts.pointer("latest")
shipped = sorted((settings.HOME / "demo_files").glob("*.fits"))
certified = certify_files(shipped, latest)
errors = []
for row in Dataset.objects.all():
    for kind, value in best_references(latest, dict(row.header), None).items():
        if value.startswith("NOT FOUND") and value != "NOT FOUND n/a":
            errors.append([row.compound_id, kind, value])
bad = list(File.objects.filter(rejected=True).values_list("name", flat=True))
print(json.dumps({{
    "latest": latest,
    "history": [[str(h.start_date), h.context] for h in ContextHistory.objects.order_by("start_date")],
    "submissions": list(Submission.objects.values_list("status", flat=True)),
    "deliveries": list(Delivery.objects.order_by("number").values_list("state", "files")),
    "bad": bad,
    "bad_in_latest": sorted(set(bad) & set(rmap.get_cached_mapping(latest).reference_names())),
    "runs": list(AffectedRun.objects.values_list("old_context", "new_context", "status",
                                                 "affected_exposures", "errors", "update_counts")),
    "datasets": Dataset.objects.count(),
    "bestrefs_errors": errors,
    "shipped": {{path.name: certified.files[path.name].errors for path in shipped}},
}}))
"""


@pytest.fixture(scope="module", params=["hst", "jwst"])
def story(request, tmp_path_factory):
    observatory = request.param
    home = tmp_path_factory.mktemp(f"demo-story-{observatory}")
    out = manage(home, observatory, "demo", "--story", "--observatory", observatory, "--datasets", "30")
    state = manage(home, observatory, "shell", "-c", STATE.format(root=ROOT))
    return observatory, out, json.loads(state.strip().splitlines()[-1])


def test_the_story_makes_two_contexts_latest_on_different_days(story):
    observatory, out, state = story
    contexts = [context for _, context in state["history"]]
    assert contexts == [f"{observatory}_000{n}.pmap" for n in (1, 2, 3)]
    days = [stamp[:10] for stamp, _ in state["history"]]
    assert len(set(days)) == 3 and days == sorted(days)
    assert state["latest"] == contexts[-1] and f"latest context {contexts[-1]}" in out


def test_both_deliveries_went_through_confirmed_submissions_and_are_archived(story):
    _, _, state = story
    assert state["submissions"] == ["confirmed", "confirmed"]
    assert [delivery_state for delivery_state, _ in state["deliveries"]] == ["archived", "archived"]
    delivered = [files for _, files in state["deliveries"]]
    assert all(any(name.endswith(".pmap") for name in files) for files in delivered)


def test_the_first_delivered_reference_is_marked_bad_and_latest_stays_clean(story):
    _, _, state = story
    first_delivery = state["deliveries"][0][1]
    assert len(state["bad"]) == 1 and state["bad"][0] in first_delivery
    assert state["bad_in_latest"] == []


def test_each_transition_has_an_affected_datasets_report_with_real_changes(story):
    observatory, _, state = story
    runs = {(old, new): rest for old, new, *rest in state["runs"]}
    for n in (1, 2):
        transition = (f"{observatory}_000{n}.pmap", f"{observatory}_000{n + 1}.pmap")
        status, affected, errors, counts = runs[transition]
        assert status == "done" and affected > 0 and errors == 0
        assert sum(sum(per_type.values()) for per_type in counts.values()) == affected


def test_best_references_of_every_demo_dataset_have_no_lookup_errors(story):
    _, _, state = story
    assert state["datasets"] == 30
    assert state["bestrefs_errors"] == []


def test_roman_has_no_story_yet_but_a_plain_demo(tmp_path):
    out = manage(tmp_path, "roman", "demo", "--story", "--observatory", "roman", "--datasets", "3")
    assert "latest context roman_0001.pmap" in out


def test_it_leaves_a_reference_to_submit_that_certifies_against_latest(story):
    _, out, state = story
    assert len(state["shipped"]) == 1 and list(state["shipped"].values()) == [[]]
    assert "A reference to submit (it certifies against " in out
