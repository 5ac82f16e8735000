"""A plain install runs every `etslink` command: each third-party package the product
imports is a core dependency in pyproject.toml, and each file it reads ships inside the
wheel as package data, found with `importlib.resources`, never beside the source tree.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from compliance import presets

ROOT = Path(__file__).parents[1]
PACKAGES = ("registry", "compliance", "gateway", "exchange", "etslink")


def _core_dependencies() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = set()
    for requirement in data["project"]["dependencies"]:
        match = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert match is not None, requirement
        names.add(match.group(0).lower())
    return names


def _top_level_imports(path: Path) -> set[str]:
    """Return the top-level names of modules imported at module level in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_module_level_third_party_import_is_a_core_dependency() -> None:
    core = _core_dependencies()
    ours = set(PACKAGES)
    missing: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in _top_level_imports(path) - ours - set(sys.stdlib_module_names):
                if name.lower() not in core:  # each import name here is its distribution's
                    missing.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not core dependencies: {missing}"


def test_the_check_knows_a_missing_dependency_when_it_sees_one(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import hypothesis\nfrom rich.table import Table\n", encoding="utf-8")
    assert _top_level_imports(module) == {"hypothesis", "rich"}
    assert "pytest" not in _core_dependencies()  # a test-only package is not core


def _package_data_globs() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs: dict[str, list[str]] = data["tool"]["setuptools"]["package-data"]
    return globs


@pytest.mark.parametrize(
    "package, folder", [("etslink", "fixtures"), ("compliance", "jurisdictions")]
)
def test_every_shipped_file_is_package_data_of_the_wheel(package: str, folder: str) -> None:
    root = ROOT / package
    shipped = {path for path in (root / folder).rglob("*") if path.is_file()}
    declared = {path for glob in _package_data_globs()[package] for path in root.glob(glob)}
    assert shipped, f"{package}/{folder}/ holds shipped files"
    assert shipped <= declared, sorted(str(p.relative_to(ROOT)) for p in shipped - declared)


def test_no_product_module_reaches_above_its_package_for_files() -> None:
    # A wheel holds the packages alone: nothing above them (the checkout's top, its
    # `fixtures/` link) exists once installed. Shipped files are package data.
    climbing = re.compile(r"__file__.*(\.parents\[|\.parent\.parent)")
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if climbing.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_presets_are_read_from_the_installed_package() -> None:
    """The presets are the compliance package's data: `compliance` reads no file of the
    layers above it (DESIGN.md's import direction)."""
    assert Path(str(files("compliance"))) / "jurisdictions" == presets.PRESETS_DIR
    assert "korea" in presets.list_presets()


def test_fixtures_in_a_checkout_are_the_package_folders() -> None:
    for kind in (ROOT / "fixtures").iterdir():
        owner = (
            ROOT / "compliance" if kind.name == "jurisdictions" else ROOT / "etslink" / "fixtures"
        )
        assert kind.resolve() == (owner / kind.name).resolve(), kind
