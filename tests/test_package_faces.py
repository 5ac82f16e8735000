"""Package faces stay light (DESIGN.md "Second wave"), and every name they export resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import compliance
import etslink


@pytest.mark.parametrize("package", ["compliance", "etslink"])
def test_importing_the_package_face_does_not_load_sqlalchemy(package: str) -> None:
    probe = f"import sys, {package}; print('sqlalchemy' in sys.modules, 'registry' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert shown.split() == ["False", "False"]


@pytest.mark.parametrize("package", [compliance, etslink], ids=lambda p: p.__name__)
def test_every_exported_name_resolves_from_its_home_module(package: object) -> None:
    exported = package.__all__  # type: ignore[attr-defined]
    homes = package._HOMES  # type: ignore[attr-defined]
    assert sorted(exported) == sorted(homes)
    for name in exported:
        value = getattr(package, name)
        assert getattr(sys.modules[homes[name]], name) is value
    with pytest.raises(AttributeError):
        package.no_such_name  # type: ignore[attr-defined]  # noqa: B018
