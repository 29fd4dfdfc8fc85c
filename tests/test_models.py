"""The spec's data DTOs: every field, UTC timestamps, JSON round-trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from ff_otel import (
    FFAnalyticsAlertDTO,
    FFBusinessIntelligenceDTO,
    FFSystemMetricsDTO,
    FFUserAnalyticsDTO,
)

from .spec_fields import SPEC_FIELDS

MODELS = [FFSystemMetricsDTO, FFUserAnalyticsDTO, FFBusinessIntelligenceDTO, FFAnalyticsAlertDTO]


@pytest.mark.parametrize("model", MODELS)
def test_every_spec_field_and_json_round_trip(model: type) -> None:
    assert list(model.model_fields) == SPEC_FIELDS[model.__name__]
    original = model()
    line = orjson.dumps(original.to_dict())
    restored = model.from_dict(orjson.loads(line))
    assert restored == original


def test_timestamps_are_utc_aware_and_stored_in_fixed_width_form() -> None:
    naive = FFSystemMetricsDTO(timestamp=datetime(2026, 3, 1, 12, 0, 0))
    assert naive.timestamp.tzinfo is not None
    assert naive.to_dict()["timestamp"] == "2026-03-01T12:00:00.000000Z"

    plus_two = timezone(timedelta(hours=2))
    shifted = FFUserAnalyticsDTO(timestamp=datetime(2026, 3, 1, 14, 0, tzinfo=plus_two))
    assert shifted.timestamp == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert shifted.to_dict()["timestamp"] == "2026-03-01T12:00:00.000000Z"

    parsed = FFAnalyticsAlertDTO.from_dict({"timestamp": "2026-03-01T12:00:00Z"})
    assert parsed.timestamp == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_ids_keep_the_spec_prefixes_and_are_unique() -> None:
    ids = {FFSystemMetricsDTO().metric_id for _ in range(200)}
    assert len(ids) == 200
    assert all(i.startswith("sys_") for i in ids)
    assert FFBusinessIntelligenceDTO().insight_id.startswith("bi_")
    assert FFAnalyticsAlertDTO().alert_id.startswith("alert_")


def test_alert_severity_is_validated() -> None:
    assert FFAnalyticsAlertDTO(severity="critical").severity == "critical"
    with pytest.raises(ValueError, match="severity"):
        FFAnalyticsAlertDTO(severity="apocalyptic")
