"""Founding a registry is one transaction: a crash leaves no empty, unusable stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import Registry, SigningKey, StoreError, UnitKind, UnitType, make_engine
from registry.journal import Journal, list_streams

KAU = UnitType("KAU", UnitKind.ALLOWANCE, "KR")


def test_failed_first_commit_leaves_no_stream_and_founding_can_be_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kr.db'}")
    key = SigningKey.generate()

    def broken_insert(self: Journal, connection: object) -> None:
        raise OSError("disk went away between the head and the entries")

    with monkeypatch.context() as patch:
        patch.setattr(Journal, "_insert_buffer", broken_insert)
        with pytest.raises(OSError):
            Registry.create(engine, "KR", "Korea", key, unit_types=[KAU])
    assert list_streams(engine) == []

    registry = Registry.create(engine, "KR", "Korea", key, unit_types=[KAU])
    assert list_streams(engine) == ["KR"]
    reopened = Registry.open(engine, "KR", key)
    assert reopened.ledger.state_digest() == registry.ledger.state_digest()


def test_founding_an_existing_registry_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kr.db'}")
    key = SigningKey.generate()
    registry = Registry.create(engine, "KR", "Korea", key, unit_types=[KAU])
    head = (registry.journal.committed_seq, registry.journal.committed_hash)
    with pytest.raises(StoreError, match="already exists"):
        Registry.create(engine, "KR", "Korea again", SigningKey.generate())
    reopened = Registry.open(engine, "KR", key)
    assert (reopened.journal.committed_seq, reopened.journal.committed_hash) == head
