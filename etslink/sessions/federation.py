"""A federation file: the gateway, the link files and the registries it joins, from TOML.

Read strictly, like every etslink file: an unknown key is an error that names
the file, the key and the keys expected there. Paths of link files are
relative to the federation file (they travel with it); store URLs and key
paths are relative to the current directory, like `--db` and `--key` of
every other etslink command (they name where this run keeps its data).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etslink.cli.support import default_key_path
from gateway.article6 import Article6Ledger
from gateway.errors import GatewayError
from gateway.federation import GATEWAY_ID
from gateway.links import Link, load_links
from registry.account_ids import is_registry_code
from registry.config_reader import ConfigError, Table, load_toml

REGISTRIES_MAX = 50  # registries one federation joins
LINK_FILES_MAX = 20
_GATEWAY_ID_RE = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_TOP_KEYS = {"name", "description", "gateway", "links", "registry", "article6"}
_ARTICLE6_KEYS = {"party", "authorisation"}
_PARTY_KEYS = {"code", "ndc_first_year", "ndc_last_year", "method"}
_AUTHORISATION_KEYS = {"id", "party", "unit_type", "vintage", "start", "end", "purposes"}
_REHEARSAL_TIME = "2000-01-01T00:00:00Z"  # authorisations are dated by the gateway at setup
_GATEWAY_KEYS = {"id", "db", "key"}
_REGISTRY_KEYS = {"code", "db", "key"}


@dataclass(frozen=True, slots=True)
class Member:
    """One registry of the federation: its code, its store and its signing key's file."""

    code: str
    db: str
    key_path: Path


@dataclass(frozen=True, slots=True)
class Article6Party:
    """A Party's NDC implementation period and adjustment method (`[[article6.party]]`)."""

    code: str
    ndc_first_year: int
    ndc_last_year: int
    method: str


@dataclass(frozen=True, slots=True)
class Article6Authorisation:
    """Serials of a Party's own units authorised as ITMOs (`[[article6.authorisation]]`)."""

    authorisation_id: str
    party: str
    unit_type: str
    vintage: int
    start: int
    end: int
    purposes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FederationFile:
    """What a federation file says, checked: every link joins two of its registries."""

    path: Path
    name: str
    description: str
    gateway_id: str
    gateway_db: str
    gateway_key_path: Path
    link_files: tuple[Path, ...]
    links: tuple[Link, ...]
    members: tuple[Member, ...]
    parties: tuple[Article6Party, ...] = ()
    authorisations: tuple[Article6Authorisation, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(member.code for member in self.members)

    def member(self, code: str) -> Member:
        for member in self.members:
            if member.code == code:
                return member
        raise KeyError(code)


def load_federation(path: Path) -> FederationFile:
    """Read and check a federation file; raise ConfigError on the first mistake."""
    root = Table(path, "", load_toml(path))
    root.refuse_unknown(_TOP_KEYS)
    name = root.get("name", str, path.stem)
    description = root.get("description", str, "")
    gateway = root.table("gateway")
    assert gateway is not None  # required=True never returns None
    gateway.refuse_unknown(_GATEWAY_KEYS)
    gateway_id = gateway.get("id", str, GATEWAY_ID)
    if not _GATEWAY_ID_RE.fullmatch(gateway_id):
        raise ConfigError(
            path, "gateway.id", f"expected capitals and digits like 'GW', found {gateway_id!r}"
        )
    gateway_db = _store_url(path, gateway, "gateway.db")
    gateway_key = _key_path(gateway, gateway_db, gateway_id)
    gateway.done()
    members = _read_members(path, root)
    if gateway_id in {member.code for member in members}:
        raise ConfigError(path, "gateway.id", f"{gateway_id!r} is also a registry's code")
    link_files = _read_link_files(path, root)
    parties, authorisations = _read_article6(path, root)
    root.done()
    links = [link for link_file in link_files for link in load_links(link_file)]
    _check_links(path, links, {member.code for member in members})
    return FederationFile(
        path,
        name,
        description,
        gateway_id,
        gateway_db,
        gateway_key,
        tuple(link_files),
        tuple(links),
        tuple(members),
        tuple(parties),
        tuple(authorisations),
    )


def _read_members(path: Path, root: Table) -> list[Member]:
    tables = root.tables("registry")
    if not tables:
        raise ConfigError(path, "registry", "expected at least one [[registry]] table")
    if len(tables) > REGISTRIES_MAX:
        raise ConfigError(
            path, "registry", f"at most {REGISTRIES_MAX} registries, found {len(tables)}"
        )
    members: list[Member] = []
    for table in tables:
        table.refuse_unknown(_REGISTRY_KEYS)
        code = table.get("code", str)
        if not is_registry_code(code):
            raise ConfigError(
                path, f"{table.where}.code", f"expected two capital letters, found {code!r}"
            )
        if code in {member.code for member in members}:
            raise ConfigError(path, f"{table.where}.code", f"registry {code} is listed twice")
        db = _store_url(path, table, f"{table.where}.db")
        members.append(Member(code, db, _key_path(table, db, code)))
        table.done()
    return members


def _read_link_files(path: Path, root: Table) -> list[Path]:
    names = root.get("links", list)
    if not names or not all(isinstance(name, str) for name in names):
        raise ConfigError(
            path, "links", "expected a non-empty list of link files, e.g. ['../links/eu.toml']"
        )
    if len(names) > LINK_FILES_MAX:
        raise ConfigError(path, "links", f"at most {LINK_FILES_MAX} link files, found {len(names)}")
    files = [path.parent / name for name in names]
    for name, file in zip(names, files, strict=True):
        if not file.is_file():
            raise ConfigError(
                path,
                "links",
                f"link file {name!r} not found (looked for {file}; "
                "link files are relative to the federation file)",
            )
    return files


def _check_links(path: Path, links: list[Link], codes: set[str]) -> None:
    seen: set[str] = set()
    for link in links:
        if link.link_id in seen:
            raise ConfigError(path, "links", f"link id {link.link_id!r} appears in two files")
        seen.add(link.link_id)
        missing = sorted(link.parties - codes)
        if missing:
            raise ConfigError(
                path,
                "registry",
                f"link {link.link_id} joins {link.registry_a} and {link.registry_b}, "
                f"but no [[registry]] has code {', '.join(missing)}",
            )


def _store_url(path: Path, table: Table, key: str) -> str:
    url = table.get("db", str)
    if "://" not in url:
        raise ConfigError(
            path, key, f"expected a SQLAlchemy URL like 'sqlite:///eu.db', found {url!r}"
        )
    return url


def _key_path(table: Table, db: str, code: str) -> Path:
    written = table.get("key", str, None)
    return default_key_path(db, code, None if written is None else Path(written))


def _read_article6(
    path: Path, root: Table
) -> tuple[list[Article6Party], list[Article6Authorisation]]:
    """Read `[article6]` and rehearse it on a scratch ledger, so setup never stops halfway."""
    table = root.table("article6", required=False)
    if table is None:
        return [], []
    table.refuse_unknown(_ARTICLE6_KEYS)
    scratch = Article6Ledger()
    parties = []
    for item in table.tables("party"):
        item.refuse_unknown(_PARTY_KEYS)
        party = Article6Party(
            item.get("code", str),
            item.get("ndc_first_year", int),
            item.get("ndc_last_year", int),
            item.get("method", str),
        )
        item.done()
        _rehearse(
            path,
            item.where,
            scratch.register_party,
            party.code,
            party.ndc_first_year,
            party.ndc_last_year,
            party.method,
        )
        parties.append(party)
    authorisations = []
    for item in table.tables("authorisation"):
        item.refuse_unknown(_AUTHORISATION_KEYS)
        purposes = item.get("purposes", list, ["ndc"])
        if not all(isinstance(purpose, str) for purpose in purposes):
            raise ConfigError(path, f"{item.where}.purposes", "expected a list of strings")
        authorisation = Article6Authorisation(
            item.get("id", str),
            item.get("party", str),
            item.get("unit_type", str),
            item.get("vintage", int),
            item.get("start", int),
            item.get("end", int),
            tuple(purposes),
        )
        item.done()
        _rehearse(
            path,
            item.where,
            scratch.authorise,
            authorisation.authorisation_id,
            authorisation.party,
            authorisation.unit_type,
            authorisation.vintage,
            authorisation.start,
            authorisation.end,
            authorisation.purposes,
            _REHEARSAL_TIME,
        )
        authorisations.append(authorisation)
    table.done()
    return parties, authorisations


def _rehearse(path: Path, where: str, command: Callable[..., object], *arguments: Any) -> None:
    try:
        command(*arguments)
    except GatewayError as error:
        raise ConfigError(path, where, f"check {int(error.code)}: {error.message}") from None
