"""Shared test set-up: Hypothesis profiles and a fresh PostgreSQL database per run.

Profiles: `default` keeps the whole suite within a few minutes on 2 cores;
`HYPOTHESIS_PROFILE=thorough` runs many more examples for deep checks.

PostgreSQL: tests marked `postgres` get a database created for this run and
dropped after it. They skip only when no server is reachable, and not even
then when ETSLINK_REQUIRE_POSTGRES=1 (CI sets it): there they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=1_000,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PG_ADMIN_URL = os.environ.get(
    "ETSLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _admin_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL template for databases on a reachable server."""
    try:
        import psycopg  # noqa: F401
        from sqlalchemy import text

        engine = _admin_engine()
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as error:  # the server is the thing being probed
        if os.environ.get("ETSLINK_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"PostgreSQL is required (ETSLINK_REQUIRE_POSTGRES=1) but unreachable: {error}"
            )
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {error}")
    yield PG_ADMIN_URL
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """Create a fresh database for one test and drop it afterwards."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"etslink_test_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
