"""Decorators and context managers produce correct span records in the store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

import ff_otel

from .conftest import records


def spans_by_name(handle: ff_otel.FFOtel) -> dict[str, dict]:  # type: ignore[type-arg]
    assert ff_otel.force_flush()
    return {r["name"]: r for r in records(handle.layout.spans)}


@ff_otel.instrument
def parent_function(x: int) -> int:
    return child_function(x) + 1


@ff_otel.instrument("child.op", component="database", attributes={"db.table": "messages"})
def child_function(x: int) -> int:
    with ff_otel.span("inner.block", component="cache", hit=True) as current:
        current.set_attribute("rows", 3)
    return x * 2


def test_sync_calls_make_linked_spans_with_names_components_and_durations(
    handle: ff_otel.FFOtel,
) -> None:
    assert parent_function(4) == 9
    spans = spans_by_name(handle)

    parent = spans["parent_function"]
    child = spans["child.op"]
    inner = spans["inner.block"]
    assert parent["parent_span_id"] is None
    assert child["parent_span_id"] == parent["span_id"]
    assert inner["parent_span_id"] == child["span_id"]
    assert {parent["trace_id"]} == {child["trace_id"], inner["trace_id"]}
    assert len(parent["trace_id"]) == 32 and len(parent["span_id"]) == 16

    assert parent["component"] == "tests"  # top-level package of the module
    assert child["component"] == "database"
    assert inner["component"] == "cache"
    assert child["attributes"]["db.table"] == "messages"
    assert inner["attributes"] == {"hit": True, "rows": 3, "ff.component": "cache"}
    assert parent["attributes"]["code.function.name"].endswith("test_tracing.parent_function")

    assert parent["duration_ms"] >= child["duration_ms"] >= inner["duration_ms"] >= 0
    assert parent["timestamp"] <= child["timestamp"] <= child["end_timestamp"]
    assert {r["status"] for r in spans.values()} == {"ok"}
    assert {r["service"] for r in spans.values()} == {"test-service"}
    assert parent["kind"] == "internal"


class PaymentDeclined(Exception):
    pass


@ff_otel.instrument(component="billing")
def charge() -> None:
    raise PaymentDeclined("card expired")


def test_exceptions_are_recorded_and_reraised_unchanged(handle: ff_otel.FFOtel) -> None:
    with pytest.raises(PaymentDeclined) as caught:
        charge()
    assert str(caught.value) == "card expired"
    assert caught.value.__traceback__ is not None

    span = spans_by_name(handle)["charge"]
    assert span["status"] == "error"
    assert "card expired" in span["status_message"]
    (event,) = span["events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"].endswith("PaymentDeclined")
    assert event["attributes"]["exception.message"] == "card expired"

    (error,) = [r for r in records(handle.layout.error_rates) if r["record_type"] == "span_error"]
    assert error["component"] == "billing"
    assert error["span_id"] == span["span_id"]
    assert error["message"] == "card expired"


@ff_otel.instrument
async def fetch_answer(question: str) -> str:
    await asyncio.sleep(0.01)
    with ff_otel.span("tokenize"):
        pass
    return question.upper()


def test_coroutines_are_traced_across_awaits(handle: ff_otel.FFOtel) -> None:
    async def main() -> list[str]:
        return await asyncio.gather(fetch_answer("a"), fetch_answer("b"))

    assert asyncio.run(main()) == ["A", "B"]
    assert ff_otel.force_flush()
    spans = records(handle.layout.spans)
    answers = [s for s in spans if s["name"] == "fetch_answer"]
    tokenizes = [s for s in spans if s["name"] == "tokenize"]
    assert len(answers) == 2 and len(tokenizes) == 2
    assert {t["parent_span_id"] for t in tokenizes} == {a["span_id"] for a in answers}
    assert all(a["duration_ms"] >= 10 for a in answers)


@ff_otel.instrument
def numbers(n: int) -> Iterator[int]:
    for i in range(n):
        with ff_otel.span("produce"):
            pass
        yield i


def test_generators_span_the_whole_iteration_without_leaking_context(
    handle: ff_otel.FFOtel,
) -> None:
    with ff_otel.span("consumer"):
        for _ in numbers(3):
            with ff_otel.span("consume"):
                pass
    assert ff_otel.force_flush()
    spans = records(handle.layout.spans)
    generator = next(s for s in spans if s["name"] == "numbers")
    consumer = next(s for s in spans if s["name"] == "consumer")
    produced = [s for s in spans if s["name"] == "produce"]
    consumed = [s for s in spans if s["name"] == "consume"]
    assert generator["parent_span_id"] == consumer["span_id"]
    assert [p["parent_span_id"] for p in produced] == [generator["span_id"]] * 3
    # Between yields the consumer's own context is current, not the generator's.
    assert [c["parent_span_id"] for c in consumed] == [consumer["span_id"]] * 3


@ff_otel.instrument
def failing_numbers() -> Iterator[int]:
    yield 1
    raise RuntimeError("source went away")


def test_generator_errors_and_early_close(handle: ff_otel.FFOtel) -> None:
    with pytest.raises(RuntimeError, match="source went away"):
        list(failing_numbers())
    early = numbers(10)
    assert next(early) == 0
    early.close()
    spans = records(handle.layout.spans) if ff_otel.force_flush() else []
    statuses = {s["name"]: s["status"] for s in spans}
    assert statuses["failing_numbers"] == "error"
    assert statuses["numbers"] == "ok"  # closing early is not a failure


@ff_otel.instrument("stream.tokens", component="llm")
async def stream_tokens(n: int) -> AsyncIterator[str]:
    for i in range(n):
        await asyncio.sleep(0)
        with ff_otel.span("token"):
            pass
        yield f"t{i}"


def test_async_generators(handle: ff_otel.FFOtel) -> None:
    async def main() -> list[str]:
        return [token async for token in stream_tokens(3)]

    assert asyncio.run(main()) == ["t0", "t1", "t2"]
    assert ff_otel.force_flush()
    spans = records(handle.layout.spans)
    stream = next(s for s in spans if s["name"] == "stream.tokens")
    assert stream["component"] == "llm"
    assert [s["parent_span_id"] for s in spans if s["name"] == "token"] == [stream["span_id"]] * 3


class ChatRepository:
    prefix = "conv"

    @ff_otel.instrument
    def load(self, conversation: int) -> str:
        return f"{self.prefix}-{conversation}"

    @ff_otel.instrument
    @classmethod
    def table(cls) -> str:
        return cls.prefix

    @ff_otel.instrument
    @staticmethod
    def version() -> int:
        return 2


def test_methods_classmethods_and_staticmethods(handle: ff_otel.FFOtel) -> None:
    repo = ChatRepository()
    assert (repo.load(7), ChatRepository.table(), repo.version()) == ("conv-7", "conv", 2)
    names = set(spans_by_name(handle))
    assert {"ChatRepository.load", "ChatRepository.table", "ChatRepository.version"} <= names


@ff_otel.instrument(record_args=True)
def lookup(self_id: int, query: str, options: dict[str, int] | None = None) -> int:
    return self_id


def test_record_args_is_off_by_default_and_records_values_when_on(
    handle: ff_otel.FFOtel,
) -> None:
    lookup(3, "weather", options={"limit": 5})
    parent_function(1)
    spans = spans_by_name(handle)
    attributes = spans["lookup"]["attributes"]
    assert attributes["code.arg.self_id"] == 3
    assert attributes["code.arg.query"] == "weather"
    assert attributes["code.arg.options"] == "{'limit': 5}"
    assert not [k for k in spans["parent_function"]["attributes"] if k.startswith("code.arg.")]


def test_unconfigured_ff_otel_is_a_cheap_no_op(base_path: object) -> None:
    ff_otel.shutdown()
    assert parent_function(1) == 3
    with pytest.raises(PaymentDeclined):
        charge()
    with ff_otel.span("nothing") as current:
        current.set_attribute("ignored", 1)
        assert not current.is_recording()
    assert list(numbers(2)) == [0, 1]
    assert ff_otel.force_flush() is True


def test_instrument_rejects_a_non_name_argument() -> None:
    with pytest.raises(TypeError, match="span name"):
        ff_otel.instrument(42)  # type: ignore[call-overload]
