"""Decorators and context managers that make OTel spans.

``@instrument`` works on functions, coroutines, generators, async generators,
methods, classmethods and staticmethods. Everything that can be decided at
decoration time (name, attributes, which wrapper) is decided then, so a call
costs what ``tracer.start_as_current_span`` costs and no more. Until
``configure()`` runs (or when ff-otel is disabled) a decorated call is the
undecorated call plus one attribute check.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from ff_otel.exporters.mapping import COMPONENT_ATTRIBUTE
from ff_otel.sdk import runtime

F = TypeVar("F", bound=Callable[..., Any])

_ARG_VALUE_LIMIT = 1000
_PRIMITIVES = (bool, int, float)


@overload
def instrument(func: F, /) -> F: ...


@overload
def instrument(
    name: str | None = None,
    /,
    *,
    component: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    record_args: bool = False,
) -> Callable[[F], F]: ...


def instrument(
    func_or_name: Any = None,
    /,
    *,
    component: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    record_args: bool = False,
) -> Any:
    """Trace every call of a function as a span.

    Bare (``@instrument``) the span is named after the function's qualified
    name; ``@instrument("llm.call", component="llm", attributes={...})`` names
    it and adds attributes. ``component`` becomes ``ff.component`` (default:
    the function's top-level package). ``record_args=True`` also records the
    argument values as ``code.arg.<name>`` attributes; it is off by default
    because arguments often carry personal data.
    A raised exception is recorded on the span (status ERROR) and re-raised
    unchanged.
    """
    if callable(func_or_name) or isinstance(func_or_name, (classmethod, staticmethod)):
        return _decorate(func_or_name, None, component, attributes, record_args)
    if func_or_name is not None and not isinstance(func_or_name, str):
        raise TypeError(
            f"instrument() takes a span name (str) or a function, got {type(func_or_name).__name__}"
        )

    def decorator(func: F) -> F:
        decorated: F = _decorate(func, func_or_name, component, attributes, record_args)
        return decorated

    return decorator


def _decorate(
    func: Any,
    name: str | None,
    component: str | None,
    attributes: Mapping[str, AttributeValue] | None,
    record_args: bool,
) -> Any:
    if isinstance(func, classmethod):
        return classmethod(_decorate(func.__func__, name, component, attributes, record_args))
    if isinstance(func, staticmethod):
        return staticmethod(_decorate(func.__func__, name, component, attributes, record_args))

    span_name = name or func.__qualname__
    static = _static_attributes(func, component, attributes)
    signature = inspect.signature(func) if record_args else None

    def attributes_for(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if signature is None:
            return static
        return {**static, **_argument_attributes(signature, args, kwargs)}

    if inspect.isasyncgenfunction(func):
        return _wrap_async_generator(func, span_name, attributes_for)
    if inspect.isgeneratorfunction(func):
        return _wrap_generator(func, span_name, attributes_for)
    if inspect.iscoroutinefunction(func):
        return _wrap_coroutine(func, span_name, attributes_for)
    return _wrap_function(func, span_name, static, attributes_for, signature is not None)


def _wrap_function(
    func: Callable[..., Any],
    span_name: str,
    static: dict[str, Any],
    attributes_for: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]],
    dynamic: bool,
) -> Callable[..., Any]:
    if dynamic:

        @functools.wraps(func)
        def traced_with_args(*args: Any, **kwargs: Any) -> Any:
            tracer = runtime.tracer
            if tracer is None:
                return func(*args, **kwargs)
            with tracer.start_as_current_span(span_name, attributes=attributes_for(args, kwargs)):
                return func(*args, **kwargs)

        return traced_with_args

    @functools.wraps(func)
    def traced(*args: Any, **kwargs: Any) -> Any:
        tracer = runtime.tracer
        if tracer is None:
            return func(*args, **kwargs)
        with tracer.start_as_current_span(span_name, attributes=static):
            return func(*args, **kwargs)

    return traced


def _wrap_coroutine(
    func: Callable[..., Any],
    span_name: str,
    attributes_for: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]],
) -> Callable[..., Any]:
    @functools.wraps(func)
    async def traced(*args: Any, **kwargs: Any) -> Any:
        tracer = runtime.tracer
        if tracer is None:
            return await func(*args, **kwargs)
        with tracer.start_as_current_span(span_name, attributes=attributes_for(args, kwargs)):
            return await func(*args, **kwargs)

    return traced


def _wrap_generator(
    func: Callable[..., Iterator[Any]],
    span_name: str,
    attributes_for: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]],
) -> Callable[..., Any]:
    # The span lives from the first step to exhaustion, but is current only
    # while the generator's own code runs: between yields the caller's context
    # must stay the caller's.
    @functools.wraps(func)
    def traced(*args: Any, **kwargs: Any) -> Any:
        tracer = runtime.tracer
        if tracer is None:
            return (yield from func(*args, **kwargs))
        span = tracer.start_span(span_name, attributes=attributes_for(args, kwargs))
        span_context = trace.set_span_in_context(span)
        generator: Any = func(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = otel_context.attach(span_context)
                try:
                    value = generator.send(sent) if thrown is None else generator.throw(thrown)
                except StopIteration as stop:
                    return stop.value
                finally:
                    otel_context.detach(token)
                sent, thrown = None, None
                try:
                    sent = yield value
                except GeneratorExit:
                    generator.close()
                    raise
                except BaseException as exc:
                    thrown = exc
        except GeneratorExit:
            raise
        except BaseException as exc:
            _record_failure(span, exc)
            raise
        finally:
            span.end()

    return traced


def _wrap_async_generator(
    func: Callable[..., AsyncIterator[Any]],
    span_name: str,
    attributes_for: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]],
) -> Callable[..., Any]:
    @functools.wraps(func)
    async def traced(*args: Any, **kwargs: Any) -> Any:
        tracer = runtime.tracer
        if tracer is None:
            async for item in func(*args, **kwargs):
                yield item
            return
        span = tracer.start_span(span_name, attributes=attributes_for(args, kwargs))
        span_context = trace.set_span_in_context(span)
        generator: Any = func(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = otel_context.attach(span_context)
                try:
                    if thrown is None:
                        value = await generator.asend(sent)
                    else:
                        value = await generator.athrow(thrown)
                except StopAsyncIteration:
                    return
                finally:
                    otel_context.detach(token)
                sent, thrown = None, None
                try:
                    sent = yield value
                except GeneratorExit:
                    await generator.aclose()
                    raise
                except BaseException as exc:
                    thrown = exc
        except GeneratorExit:
            raise
        except BaseException as exc:
            _record_failure(span, exc)
            raise
        finally:
            span.end()

    return traced


@contextmanager
def span(
    name: str,
    *,
    component: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    **extra_attributes: AttributeValue,
) -> Iterator[Span]:
    """Run a block inside a span; yields the OTel ``Span``.

    Keyword arguments other than ``component`` and ``attributes`` become span
    attributes (``span("db.query", table="messages")``). Exceptions are
    recorded on the span and re-raised unchanged.
    """
    tracer = runtime.tracer
    if tracer is None:
        yield trace.INVALID_SPAN
        return
    merged: dict[str, Any] = {**(attributes or {}), **extra_attributes}
    merged[COMPONENT_ATTRIBUTE] = component or _caller_component()
    with tracer.start_as_current_span(name, attributes=merged) as current:
        yield current


def _record_failure(span: Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def _static_attributes(
    func: Callable[..., Any],
    component: str | None,
    attributes: Mapping[str, AttributeValue] | None,
) -> dict[str, Any]:
    module = getattr(func, "__module__", None) or "__main__"
    static: dict[str, Any] = {
        COMPONENT_ATTRIBUTE: component or _component_of_module(module),
        "code.function.name": f"{module}.{func.__qualname__}",
    }
    code = getattr(func, "__code__", None)
    if code is not None:
        static["code.file.path"] = code.co_filename
        static["code.line.number"] = code.co_firstlineno
    if attributes:
        static.update(attributes)
    return static


def _component_of_module(module: str) -> str:
    if module == "__main__":
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        return Path(main_file).stem if main_file else "__main__"
    return module.split(".", 1)[0]


def _caller_component() -> str:
    frame = sys._getframe(3)  # span() <- contextmanager __enter__ <- with-statement
    return _component_of_module(frame.f_globals.get("__name__", "__main__"))


def _argument_attributes(
    signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return {}
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if name in ("self", "cls"):
            continue
        if isinstance(value, str):
            out[f"code.arg.{name}"] = value[:_ARG_VALUE_LIMIT]
        elif isinstance(value, _PRIMITIVES):
            out[f"code.arg.{name}"] = value
        else:
            out[f"code.arg.{name}"] = repr(value)[:_ARG_VALUE_LIMIT]
    return out
