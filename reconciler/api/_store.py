"""Open a store once per operation: engine, password-free display URL, error mapping and the
initialised check (what every api/ module used to repeat)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from reconciler.live.engine import display_url, make_engine, store_errors
from reconciler.live.migrate import require_initialised

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Store:
    """An open store: the URL as given (for worker processes), its engine and display form."""

    url: str
    engine: Engine
    display: str

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn


@contextmanager
def open_store(store_url: str, *, initialised: bool = True) -> Iterator[Store]:
    """The store of `store_url`; SQLAlchemy errors inside become `ReconcilerError`s naming it
    (password hidden). With `initialised`, refuse a store `reconciler init` has not set up."""
    display = display_url(store_url)
    started = time.perf_counter()
    with store_errors(store_url):
        engine = make_engine(store_url)
        if initialised:
            with engine.connect() as conn:
                require_initialised(conn)
        log.info("store %s open in %.3f s", display, time.perf_counter() - started)
        yield Store(url=store_url, engine=engine, display=display)
