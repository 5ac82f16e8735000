"""Every third-party package the product imports is a core dependency in pyproject.toml.

A plain `pip install -e .` (the README's first command) must start every `etslink`
command: `etslink verify` once imported Hypothesis, then a test-only extra, and no
command started without it.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

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
    missing = {}
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
