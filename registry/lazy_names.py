"""A package face whose public names are imported on first use (PEP 562).

Every package face (`registry`, `gateway`, `compliance`, `exchange`, `etslink` and
`etslink.scenario`) exports names whose modules need the store (SQLAlchemy), the gateway
or the simulation; importing the face, or one light module under it such as
`exchange.book`, must not load them (DESIGN.md, "Package faces stay light"). It lives in
`registry`, the package every other one may import, and imports nothing of ours.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    namespace: dict[str, Any], homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return a face's `__getattr__` and `__dir__`: each name in `homes` (name → module)
    is imported from its module when first asked for, then kept in `namespace`."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *homes})

    return __getattr__, __dir__
