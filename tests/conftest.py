"""Shared fixtures: a fresh store per test and a clean ff-otel state around each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ff_otel


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A developer's own FF_OTEL_*/OTEL_* variables must not change what tests see.
    import os

    for name in list(os.environ):
        if name.startswith(("FF_OTEL_", "OTEL_")):
            monkeypatch.delenv(name)
    yield
    ff_otel.shutdown()


@pytest.fixture
def base_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def handle(base_path: Path) -> Iterator[ff_otel.FFOtel]:
    """ff-otel configured on a fresh store, exporting metrics every second."""
    yield ff_otel.configure(
        base_path=base_path,
        service_name="test-service",
        analytics=ff_otel.FFAnalyticsConfigDTO(collection_interval_seconds=1),
        system_metrics=False,
    )
    ff_otel.shutdown()


def records(path: Path) -> list[dict]:  # type: ignore[type-arg]
    """Every record of a stream, through the one reader."""
    return list(ff_otel.read_records(path))
