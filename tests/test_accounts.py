"""Accounts: users with roles and API tokens (throttling: tests/test_security_throttle.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from crds_server.accounts import actions
from crds_server.accounts.errors import AccountError
from crds_server.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def test_create_user_gives_exactly_one_role_and_operators_are_staff():
    homer = actions.create_user("homer", "homer@example.org", "submitter", "pw")
    marge = actions.create_user("marge", "marge@example.org", "operator")
    assert list(homer.groups.values_list("name", flat=True)) == ["submitter"]
    assert not homer.is_staff and marge.is_staff
    assert actions.has_role(homer, "submitter") and not actions.has_role(homer, "operator")
    assert actions.has_role(marge, "submitter") and actions.has_role(marge, "operator")


def test_create_user_again_updates_the_user_and_replaces_the_role():
    actions.create_user("homer", "old@example.org", "submitter")
    homer = actions.create_user("homer", "new@example.org", "operator")
    assert homer.email == "new@example.org"
    assert list(homer.groups.values_list("name", flat=True)) == ["operator"]


def test_create_user_refuses_an_unknown_role():
    with pytest.raises(AccountError, match="Unknown role"):
        actions.create_user("homer", "homer@example.org", "admin")


def test_a_user_without_a_password_cannot_log_in_with_one():
    actions.create_user("homer", "homer@example.org", "submitter")
    assert authenticate(RequestFactory().post("/login/"), username="homer", password="") is None
    assert authenticate(RequestFactory().post("/login/"), username="homer", password="anything") is None


def test_a_token_authenticates_its_owner_and_only_its_hash_is_stored():
    homer = actions.create_user("homer", "homer@example.org", "submitter")
    token = actions.create_token(homer, "cli")
    assert authenticate(RequestFactory().post("/login/"), username="homer", password=token) == homer
    row = ApiToken.objects.get(user=homer)
    assert row.digest != token and token not in row.digest
    assert row.last_used is not None


def test_a_token_does_not_authenticate_another_user():
    homer = actions.create_user("homer", "homer@example.org", "submitter")
    actions.create_user("bart", "bart@example.org", "submitter")
    token = actions.create_token(homer, "cli")
    assert authenticate(RequestFactory().post("/login/"), username="bart", password=token) is None


def test_a_revoked_token_no_longer_authenticates_and_others_still_do():
    homer = actions.create_user("homer", "homer@example.org", "submitter")
    old, new = actions.create_token(homer, "laptop"), actions.create_token(homer, "cluster")
    assert actions.revoke_token(homer, "laptop") == 1
    assert authenticate(RequestFactory().post("/login/"), username="homer", password=old) is None
    assert authenticate(RequestFactory().post("/login/"), username="homer", password=new) == homer
    assert actions.revoke_token(homer, "laptop") == 0


def test_a_deactivated_user_cannot_use_a_token():
    homer = actions.create_user("homer", "homer@example.org", "submitter")
    token = actions.create_token(homer)
    homer.is_active = False
    homer.save()
    assert authenticate(RequestFactory().post("/login/"), username="homer", password=token) is None
