"""The layer rule (docs/architecture.md, "Domain packages"): a domain package imports only the packages below it,
and never a door."""

import ast
from pathlib import Path

import pytest

WEBAPP = Path(__file__).resolve().parent.parent / "webapp"
SHARED = {"webapp.models", "webapp.extensions", "webapp.config"}
ALLOWED = {
    "platform": set(),
    "accounts": {"email", "platform"},
    "profiles": {"platform"},
    "widgets": {"profiles", "platform"},
    "rules": {"profiles", "platform"},
    "callbacks": {"email", "profiles", "platform", "rules"},
    "email": {"profiles", "platform"},
    "exports": {"profiles", "platform"},
    "imports": {"exports", "profiles", "platform"},
    "followups": {"callbacks", "email", "profiles", "platform", "rules"},
    "hygiene": {"email", "profiles", "platform"},
    "webforms": {"email", "exports", "profiles", "platform", "widgets"},
    "selections": {"email", "exports", "profiles", "platform", "rules"},
    "mailings": {"email", "hygiene", "platform", "profiles", "selections"},
    "surveys": {"email", "exports", "profiles", "platform", "webforms", "widgets"},
    "bulk": {"imports", "exports", "profiles", "platform", "rules"},
    "dashboard": {"followups", "hygiene", "imports", "webforms", "email", "profiles", "platform"},
    "privacy": {
        "accounts",
        "callbacks",
        "email",
        "exports",
        "followups",
        "hygiene",
        "imports",
        "profiles",
        "platform",
        "surveys",
        "webforms",
        "widgets",
    },
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "webapp":
                names.update(f"webapp.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("webapp")}


def forbidden_imports(package: str) -> list[str]:
    allowed = {f"webapp.{name}" for name in ALLOWED[package] | {package}} | SHARED
    found = []
    for path in sorted((WEBAPP / package).rglob("*.py")):
        for name in sorted(imported_modules(path)):
            if not any(name == ok or name.startswith(ok + ".") for ok in allowed):
                found.append(f"{path.relative_to(WEBAPP.parent)} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_domain_package_imports_only_the_layers_below_it(package):
    assert forbidden_imports(package) == []


def test_every_domain_package_is_known_and_says_what_it_owns():
    packages = {path.parent.name for path in WEBAPP.glob("*/__init__.py")} - {"blueprints", "soap", "models"}
    assert packages == set(ALLOWED)
    for package in packages:
        assert ast.get_docstring(ast.parse((WEBAPP / package / "__init__.py").read_text())), package


def test_the_check_finds_a_door_imported_by_a_package(tmp_path, monkeypatch):
    """The rule can fail: a package module that imports a door is reported."""
    fake = tmp_path / "webapp"
    (fake / "profiles").mkdir(parents=True)
    (fake / "profiles" / "__init__.py").write_text('"""Profiles."""\n')
    (fake / "profiles" / "lists.py").write_text("from webapp.blueprints.admin import responses\n")
    monkeypatch.setitem(globals(), "WEBAPP", fake)
    assert forbidden_imports("profiles") == ["webapp/profiles/lists.py imports webapp.blueprints.admin"]
