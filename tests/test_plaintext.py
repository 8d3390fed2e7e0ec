"""The one rule for descriptions and reasons (lib/plaintext.py)."""

from __future__ import annotations

import pytest

from crds_server.lib import plaintext


def test_plain_text_with_ordinary_white_space_passes():
    text = "New darks for ACS, INS request 42.\nSee JIRA-1 / run=2 +x\t_y"
    assert plaintext.problem(text, "reason") is None


@pytest.mark.parametrize("char", ["\x00", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u2028", "\u3000",
                                  "<", ";"])
def test_control_characters_and_markup_are_refused(char):
    assert "may only hold" in plaintext.problem(f"ok{char}ok", "reason")


def test_an_overlong_text_is_refused_by_its_length():
    assert "longer than 2000" in plaintext.problem("a" * 2001, "description")
