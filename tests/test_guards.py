"""Guards: migrations are complete, imports go one way, every command and method is documented."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands

from crds_server.rpc import registry

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "crds_server"
# Lower layers may not import higher ones: lib -> jobs -> domain apps -> entry points.
# `demo` is a tool at entry-point level: it drives submissions and catalog actions, and
# the `demo` command imports it (it is not an entry point, so commands may).
LAYERS = {"lib": 0, "jobs": 1, "catalog": 2, "datasets": 2, "locks": 2, "submissions": 2, "accounts": 2,
          "security": 2, "deliveries": 2, "notify": 2, "reprocessing": 2, "replica": 2,
          "rpc": 3, "web": 3, "ops": 3, "demo": 3}
ENTRY_POINTS = {"rpc", "web", "ops"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("crds_server.")}


@pytest.mark.django_db
def test_the_migrations_match_the_models():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_imports_go_one_way_and_nothing_imports_an_entry_point():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        app = parts[0] if len(parts) > 1 else None
        for module in _imports(path):
            target = module.split(".")[1]
            if app not in LAYERS or target not in LAYERS or target == app:
                continue
            if LAYERS[target] > LAYERS[app] or target in ENTRY_POINTS:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_every_project_command_has_help_and_a_line_in_the_docs():
    docs = (ROOT / "docs" / "commands.md").read_text()
    ours = [name for name, app in get_commands().items() if app == "crds_server.ops"]
    assert ours
    for name in ours:
        from django.core.management import load_command_class

        assert load_command_class("crds_server.ops", name).help, name
        assert f"crds-server {name.replace('_', '-')}" in docs, name


def test_every_rpc_method_has_a_docstring_and_a_section_in_the_docs():
    docs = (ROOT / "docs" / "rpc.md").read_text()
    for method in registry.describe():
        assert method["doc"], method["name"]
        assert f"`{method['name']}" in docs, method["name"]
