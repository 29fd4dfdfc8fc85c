"""Pausing the garbage collector around a bulk fold that makes no reference cycles.

Parsing or folding hundreds of thousands of records creates as many new
containers kept alive: each allocation threshold crossed sets off a
collection that walks them all again, which measured three to four times
the work itself. Such loops run with the collector paused (the pipeline's
whole tick does: it parses and folds the interval's records); it is left as
it was (an application that disabled it keeps it disabled). The pause is
process-wide, so it covers the application's threads too, for as long as
the tick lasts.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
