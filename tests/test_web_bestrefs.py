"""Best references pages: explore by parameters, paste a header, give a dataset id."""

from __future__ import annotations

import json


def _acs_dataset(demo_catalog) -> dict:
    return next(d for d in demo_catalog.datasets if d["header"].get("INSTRUME") == "ACS")


def test_the_form_offers_contexts_and_instruments(client, demo_catalog):
    response = client.get("/bestrefs/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<option value="acs"' in page and demo_catalog.context in page
    assert '<label for="header">' in page and '<label for="dataset">' in page


def test_choosing_an_instrument_shows_its_parameters_with_values_from_the_rules(client, demo_catalog):
    page = client.get("/bestrefs/", {"context": demo_catalog.context, "instrument": "acs"}).content.decode()
    assert 'name="sel-DETECTOR"' in page and "<option>WFC</option>" in page
    assert 'name="val-DATE-OBS"' in page


def test_explored_parameters_give_the_chosen_file_per_type_and_why(client, demo_catalog):
    header = _acs_dataset(demo_catalog)["header"]
    query = {"context": demo_catalog.context, "instrument": "acs", "go": "1"}
    for key, value in header.items():
        query[f"val-{key}"] = value
    page = client.get("/bestrefs/", query).content.decode()
    assert "Best references under" in page
    assert "/browse/" in page and "_drk.fits" in page
    assert "DETECTOR=" in page  # why: the rule's parameters


def test_a_pasted_header_gives_best_references(client, demo_catalog):
    header = _acs_dataset(demo_catalog)["header"]
    text = "\n".join(f"{k} = '{v}' / a comment" for k, v in header.items())
    response = client.post("/bestrefs/", {"context": "hst-latest", "header": text})
    page = response.content.decode()
    assert response.status_code == 200
    assert "_drk.fits" in page and "n/a" in page


def test_a_pasted_json_header_gives_best_references(client, demo_catalog):
    header = _acs_dataset(demo_catalog)["header"]
    response = client.post("/bestrefs/", {"context": demo_catalog.context, "header": json.dumps(header)})
    assert "_drk.fits" in response.content.decode()


def test_a_malformed_header_shows_the_form_with_the_problem_marked(client, demo_catalog):
    response = client.post("/bestrefs/", {"context": demo_catalog.context,
                                          "header": "INSTRUME 'ACS'\n<script>x</script>"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="header-error"' in page and "Line 1" in page
    assert "<script>x</script>" not in page


def test_a_dataset_id_gives_best_references(client, demo_catalog):
    dataset = _acs_dataset(demo_catalog)
    page = client.get("/bestrefs/", {"context": demo_catalog.context,
                                     "dataset": dataset["id"]}).content.decode()
    assert "Best references under" in page and "_drk.fits" in page
    assert f'<p id="results-dataset">Dataset <strong>{dataset["id"]}</strong></p>' in page


def test_an_unknown_dataset_id_is_marked(client, demo_catalog):
    response = client.get("/bestrefs/", {"dataset": "NOSUCH<b>"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="dataset-error"' in page and "<b>" not in page.split('id="dataset-error"')[1][:200]


def test_an_unknown_dataset_of_a_known_instrument_reads_as_over_rpc(client, demo_catalog):
    response = client.get("/bestrefs/", {"dataset": "J8ZZ99ZZQ"})  # an ACS id (J) with no dataset
    error = response.content.decode().split('id="dataset-error"')[1][:300]
    assert response.status_code == 400 and "NOT FOUND" in error and "J8ZZ99ZZQ" in error.upper()


def test_an_unknown_context_is_marked(client, demo_catalog):
    response = client.get("/bestrefs/", {"context": "hst_9999.pmap", "instrument": "acs"})
    assert response.status_code == 400
    assert 'id="context-error"' in response.content.decode()


def test_an_unknown_instrument_is_marked(client, demo_catalog):
    response = client.get("/bestrefs/", {"context": demo_catalog.context, "instrument": "nosuch"})
    assert response.status_code == 400
    assert 'id="instrument-error"' in response.content.decode()
