"""Pipeline keys: only operator-made keys push a context, one indexed lookup, one row per pipeline."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crds_server.catalog.models import RemoteContext
from crds_server.security import actions as pipeline_keys
from crds_server.security.models import PipelineKey

pytestmark = pytest.mark.django_db


def push(rpc, key: str, context: str) -> dict:
    return rpc.envelope("push_remote_context", "hst", "latest", key, context)


def refused(reply: dict) -> bool:
    error = reply["error"]
    return bool(error) and error["message"].startswith("UnknownPipelineKey: Unknown or revoked pipeline key")


def test_an_unknown_key_is_refused_and_registers_nothing(rpc, demo_catalog):
    for n in range(50):
        assert refused(push(rpc, f"junk-key-{n}", demo_catalog.context))
    assert RemoteContext.objects.count() == 0 and PipelineKey.objects.count() == 0


def test_the_pipeline_name_is_not_its_key(rpc, demo_catalog):
    pipeline_keys.create_pipeline_key("operator", "hst-ops-pipeline")
    assert refused(push(rpc, "hst-ops-pipeline", demo_catalog.context))
    assert not RemoteContext.objects.exists()


def test_an_unknown_key_is_refused_before_the_context_is_looked_at(rpc, demo_catalog):
    # Without a key a caller learns nothing, not even which contexts exist.
    for context in ("hst_0999.pmap", "not a context", None):
        assert refused(push(rpc, "guess", context))


@pytest.mark.parametrize("key", [None, 7, "", "k" * 129, ["k"]])
def test_a_key_that_is_not_a_short_string_is_refused(rpc, demo_catalog, key):
    assert refused(push(rpc, key, demo_catalog.context))


def test_a_made_key_pushes_under_its_pipeline_name_and_records_its_use(rpc, demo_catalog):
    key = pipeline_keys.create_pipeline_key("operator", "hst-ops-pipeline")
    assert push(rpc, key, demo_catalog.context)["error"] is None
    assert push(rpc, key, demo_catalog.context)["error"] is None
    assert rpc("get_remote_context", "hst", "hst-ops-pipeline") == demo_catalog.context
    assert list(RemoteContext.objects.values_list("pipeline", flat=True)) == ["hst-ops-pipeline"]
    assert PipelineKey.objects.get(pipeline="hst-ops-pipeline").last_used is not None


def test_only_the_digest_of_a_key_is_kept_and_the_key_reads_as_one_word(db):
    key = pipeline_keys.create_pipeline_key("operator", "hst-ops-pipeline")
    row = PipelineKey.objects.get()
    assert row.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {str(v) for v in PipelineKey.objects.values().get().values()}
    # 192 bits; hex never starts with the '-' that `crds sync` would read as an option.
    assert len(key) == 48 and all(c in "0123456789abcdef" for c in key)


def test_a_revoked_key_is_refused_and_the_last_context_stays_readable(rpc, demo_catalog):
    key = pipeline_keys.create_pipeline_key("operator", "hst-ops-pipeline")
    push(rpc, key, demo_catalog.context)
    assert pipeline_keys.revoke_pipeline_key("operator", "hst-ops-pipeline") == 1
    assert refused(push(rpc, key, demo_catalog.context))
    assert rpc("get_remote_context", "hst", "hst-ops-pipeline") == demo_catalog.context
    assert PipelineKey.objects.get().revoked_by == "operator"


def test_a_pipeline_has_one_active_key_and_replacing_it_revokes_the_old_one(rpc, demo_catalog):
    old = pipeline_keys.create_pipeline_key("operator", "hst-ops-pipeline")
    with pytest.raises(pipeline_keys.PipelineKeyError, match="already has an active key"):
        pipeline_keys.create_pipeline_key("operator", "hst-ops-pipeline")
    new = pipeline_keys.create_pipeline_key("operator", "hst-ops-pipeline", replace=True)
    assert refused(push(rpc, old, demo_catalog.context))
    assert push(rpc, new, demo_catalog.context)["error"] is None


@pytest.mark.parametrize("name", ["", "-leading-dash", "has space", "x" * 129, "a/b"])
def test_a_pipeline_name_outside_the_allowed_characters_is_refused(db, name):
    with pytest.raises(pipeline_keys.PipelineKeyError, match="Invalid pipeline name"):
        pipeline_keys.create_pipeline_key("operator", name)


def test_revoking_a_pipeline_without_an_active_key_is_an_error(db):
    with pytest.raises(pipeline_keys.PipelineKeyError, match="no active key"):
        pipeline_keys.revoke_pipeline_key("operator", "nobody")


def _push_queries(rpc, key: str, context: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert push(rpc, key, context)["error"] is None
    return [q["sql"] for q in queries.captured_queries]


def test_a_push_costs_the_same_queries_whatever_the_number_of_pipelines(rpc, demo_catalog):
    first = pipeline_keys.create_pipeline_key("operator", "pipeline-0")
    push(rpc, first, demo_catalog.context)
    few = _push_queries(rpc, first, demo_catalog.context)
    for n in range(1, 300):
        RemoteContext.objects.create(pipeline=f"pipeline-{n}", key_hash="x", context=demo_catalog.context)
        pipeline_keys.create_pipeline_key("operator", f"pipeline-{n}")
    many = _push_queries(rpc, first, demo_catalog.context)
    assert len(many) == len(few)
    key_lookups = [q for q in many if "security_pipelinekey" in q and q.lstrip().upper().startswith("SELECT")]
    assert len(key_lookups) == 1 and "digest" in key_lookups[0].split(" WHERE ", 1)[1]
    # Every query on either table is narrowed by a WHERE: no scan of every row.
    for sql in many:
        if "security_pipelinekey" in sql or "catalog_remotecontext" in sql:
            assert " WHERE " in sql, sql


# The pipeline_key command


def test_the_command_creates_a_key_that_pushes_lists_it_and_revokes_it(rpc, demo_catalog, capsys):
    call_command("pipeline_key", "create", "hst-ops-pipeline", "--user", "marge")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert push(rpc, key, demo_catalog.context)["error"] is None
    call_command("pipeline_key", "list")
    listed = capsys.readouterr().out
    assert "hst-ops-pipeline  active  created" in listed and "by marge" in listed
    assert key not in listed and "last used never" not in listed
    call_command("pipeline_key", "revoke", "hst-ops-pipeline")
    assert "Revoked the key of pipeline 'hst-ops-pipeline'" in capsys.readouterr().out
    assert refused(push(rpc, key, demo_catalog.context))
    call_command("pipeline_key", "list")
    assert "hst-ops-pipeline  revoked" in capsys.readouterr().out


def test_the_command_refuses_a_second_key_and_a_revoke_of_nothing_but_replaces_on_request(db, capsys):
    call_command("pipeline_key", "create", "hst-ops-pipeline")
    with pytest.raises(CommandError, match="already has an active key"):
        call_command("pipeline_key", "create", "hst-ops-pipeline")
    call_command("pipeline_key", "create", "hst-ops-pipeline", "--replace")
    assert PipelineKey.objects.filter(revoked=None).count() == 1
    assert PipelineKey.objects.count() == 2
    with pytest.raises(CommandError, match="no active key"):
        call_command("pipeline_key", "revoke", "nobody")
