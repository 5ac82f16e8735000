"""Every loader of a user's file, fed anything: a value or one `ConfigError` line, nothing else.

Whatever the bytes — random text with controls and bidi overrides, invalid
UTF-8, arrays nested thousands deep, shipped files with one value replaced
by a random structure — each loader either returns or raises `ConfigError`
whose message is one printable line naming the file. No other exception
escapes, and no file is written or changed beside the one read.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import etslink.cli  # noqa: F401  (first: etslink.sessions.federation and the CLI import each other)
from compliance.presets import load_regime
from etslink.scenario import load_scenario
from etslink.sessions.compliance import load_compliance_session
from etslink.sessions.federation import load_federation
from etslink.sessions.registry import load_session
from etslink.sim.participants import load_schedule
from gateway.links import load_links, load_network
from registry.config_reader import FILE_BYTES_MAX, ConfigError, load_toml

FIXTURES = Path(__file__).parents[2] / "fixtures"


# Each loader, and the shipped file (relative to fixtures/) its mutations start from.
LOADERS: dict[str, tuple[Callable[[Path], Any], str]] = {
    "registry session": (load_session, "registries/korea-phase1.toml"),
    "compliance session": (load_compliance_session, "compliance/korea-2015.toml"),
    "federation": (load_federation, "federations/eu-switzerland.toml"),
    "links": (load_links, "links/eu-switzerland.toml"),
    "link network": (lambda path: load_network([path]), "links/california-quebec.toml"),
    "scenario": (load_scenario, "scenarios/eu-switzerland.toml"),
    "regime": (load_regime, "jurisdictions/korea.toml"),
    "participant schedule": (
        lambda path: load_schedule(path, "trainee"),
        "scenarios/participants/classroom-orders.csv",
    ),
}
TOML_LOADERS = [name for name, (_, shipped) in LOADERS.items() if shipped.endswith(".toml")]
NESTING_MAX = 5_000

# A third of the profile's examples (tests/conftest.py) per test: five tests share
# the budget of one, so the default profile stays within seconds and `thorough` digs.
_fuzz = settings(
    max_examples=max(10, settings.default.max_examples // 3),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
_loaders = st.sampled_from(sorted(LOADERS))
_toml_loaders = st.sampled_from(TOML_LOADERS)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of fixtures/, so a mutated file finds the files it names beside it."""
    root = tmp_path_factory.mktemp("fuzz") / "fixtures"
    shutil.copytree(FIXTURES, root)
    yield root


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
    }


def _load(tree: Path, loader: str, content: bytes) -> None:
    """Write `content` beside the shipped file, load it, and check the outcome."""
    function, shipped = LOADERS[loader]
    target = (tree / shipped).with_name(f"fuzzed{Path(shipped).suffix}")
    target.write_bytes(content)
    before = _listing(tree)
    try:
        function(target)
    except ConfigError as error:
        message = str(error)
        assert message.isprintable(), message
        assert str(target) in message, message
    assert _listing(tree) == before


# ---------------------------------------------------------------- strategies

# Text of every kind of character: controls, bidi overrides, zero-width marks.
_invisible = st.sampled_from(["\x00", "\n", "\r", "\x7f", "\u202e", "\u200b", "\ufeff", "\u2028"])
_any_text = st.text(st.one_of(st.characters(), _invisible), max_size=200)


def _toml_string(text: str) -> str:
    """Return a TOML basic string for `text` (JSON's escapes, and DEL escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    assert isinstance(value, dict), value
    pairs = (f"{_toml_string(key)} = {_toml_value(item)}" for key, item in value.items())
    return "{" + ", ".join(pairs) + "}"


def _toml_document(document: dict[str, Any]) -> str:
    return "".join(
        f"{_toml_string(key)} = {_toml_value(value)}\n" for key, value in document.items()
    )


_scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["0", "1/3", "1e400", "-1", "1000.5", "99999999999999999999", "0/0"]),
    st.text(st.one_of(st.characters(), _invisible), max_size=12),
    st.booleans(),
    st.dates(),
)
_structures = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_any_text, inner, max_size=4)
    ),
    max_leaves=8,
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield the path of every value inside `value` (dict keys and list indexes)."""
    yield here
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for step, item in items:
            yield from _paths(item, (*here, step))


def _replaced(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """Return a copy of `document` with the value at `path` replaced (or, for None, removed)."""
    copy = json.loads(json.dumps(document, default=str))  # dates become strings: also fuzz
    here = copy
    for step in path[:-1]:
        here = here[step]
    if value is None:
        del here[path[-1]]
    else:
        here[path[-1]] = value
    return copy


# ---------------------------------------------------------------- the fuzz tests


@_fuzz
@given(loader=_loaders, text=_any_text)
def test_random_text_loads_or_is_one_error_line(tree: Path, loader: str, text: str) -> None:
    _load(tree, loader, text.encode("utf-8", "surrogatepass"))


@_fuzz
@given(loader=_loaders, data=st.binary(max_size=300))
def test_random_bytes_load_or_are_one_error_line(tree: Path, loader: str, data: bytes) -> None:
    _load(tree, loader, data)


@_fuzz
@given(
    loader=_toml_loaders,
    depth=st.integers(min_value=1, max_value=NESTING_MAX),
    shape=st.sampled_from(["[", "{a = ", "[{b = "]),
)
def test_deep_nesting_loads_or_is_one_error_line(
    tree: Path, loader: str, depth: int, shape: str
) -> None:
    closing = {"[": "]", "{a = ": "}", "[{b = ": "}]"}[shape]
    _load(tree, loader, f"a = {shape * depth}1{closing * depth}\n".encode())


@_fuzz
@given(loader=_toml_loaders, document=st.dictionaries(_any_text, _structures, max_size=4))
def test_random_toml_structures_load_or_are_one_error_line(
    tree: Path, loader: str, document: dict[str, Any]
) -> None:
    _load(tree, loader, _toml_document(document).encode("utf-8", "surrogatepass"))


@_fuzz
@given(loader=_toml_loaders, data=st.data())
def test_a_shipped_file_with_one_value_replaced_loads_or_is_one_error_line(
    tree: Path, loader: str, data: st.DataObject
) -> None:
    shipped = load_toml(FIXTURES / LOADERS[loader][1])
    paths = [path for path in _paths(shipped) if path]
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(st.one_of(st.none(), _structures), label="value")
    _load(
        tree,
        loader,
        _toml_document(_replaced(shipped, path, value)).encode("utf-8", "surrogatepass"),
    )


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize("loader", LOADERS)
def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tree: Path, loader: str) -> None:
    function, shipped = LOADERS[loader]
    target = (tree / shipped).with_name(f"huge{Path(shipped).suffix}")
    with target.open("wb") as handle:
        handle.truncate(FILE_BYTES_MAX + 1)  # a sparse file: cheap to make
    with pytest.raises(ConfigError) as refused:
        function(target)
    assert f"larger than {FILE_BYTES_MAX:,} bytes" in str(refused.value) or "at most" in str(
        refused.value
    )
    assert str(target) in str(refused.value)


@pytest.mark.parametrize("loader", TOML_LOADERS)
def test_arrays_nested_5000_deep_are_one_error_line(tree: Path, loader: str) -> None:
    target = tree / f"nested-{loader.replace(' ', '-')}.toml"
    target.write_text("a = " + "[" * NESTING_MAX + "]" * NESTING_MAX + "\n")
    with pytest.raises(ConfigError) as refused:
        LOADERS[loader][0](target)
    assert str(refused.value) == f"{target}: (syntax): nested deeper than 32 arrays or tables"


@pytest.mark.parametrize("loader", LOADERS)
def test_bytes_that_are_not_utf8_are_one_error_line_naming_the_line(
    tree: Path, loader: str
) -> None:
    target = tree / f"latin1-{loader.replace(' ', '-')}"
    target.write_bytes(b'# comment\nname = "Z\xfcrich"\n')
    with pytest.raises(ConfigError) as refused:
        LOADERS[loader][0](target)
    assert str(target) in str(refused.value)
    assert "line 2" in str(refused.value) and "UTF-8" in str(refused.value)


@pytest.mark.parametrize("loader", TOML_LOADERS)
def test_a_folder_or_a_missing_file_is_one_error_line(tree: Path, loader: str) -> None:
    for target in (tree, tree / "missing.toml"):
        with pytest.raises(ConfigError) as refused:
            LOADERS[loader][0](target)
        assert str(refused.value).startswith(f"{target}: (file): ")


def test_a_key_holding_a_line_break_and_a_bidi_override_is_shown_escaped(tree: Path) -> None:
    target = tree / "escaped.toml"
    target.write_text('"a\\nb\\u202ec" = 1\n')
    with pytest.raises(ConfigError) as refused:
        load_links(target)
    assert str(refused.value) == (
        f"{target}: a\\nb\\u202ec: unknown key (known keys here: link, unverified)"
    )
