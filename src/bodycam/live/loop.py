"""One asyncio event loop in a background thread of the server process, for aiortc.

``bodycam serve`` is a WSGI server (gunicorn's threaded workers): each request runs in a
plain thread with no event loop, while aiortc (WebRTC) lives on asyncio. The live relay
therefore gets one dedicated thread running its own loop, started on first use in the
process that serves the live view; WSGI views hand it work with ``submit`` (thread-safe,
waits for the result) and it never touches the database itself: anything that must reach
the catalogue is handed back to ``run_blocking`` (a small thread pool, where Django's
async-safety check does not apply). docs/live.md explains the choice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "bodycam-live"):
        self.name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pid = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started on first use; again in a forked child)."""
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or not self._thread.is_alive():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def run():
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._loop, self._pid = loop, os.getpid()
                self._thread = threading.Thread(target=run, name=self.name, daemon=True)
                self._thread.start()
                ready.wait()
                self._pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix=f"{self.name}-db")
            return self._loop

    def submit(self, coro_fn: Callable[[], Awaitable[T]], timeout: float | None = 30) -> T:
        """Run ``coro_fn()`` on the loop from any other thread; return its result or raise
        what it raised (``TimeoutError`` after ``timeout`` seconds, the coroutine cancelled)."""
        loop = self.loop
        if _running_loop() is loop:
            raise RuntimeError("submit() called from the loop's own thread: await instead")
        fut = asyncio.run_coroutine_threadsafe(_call(coro_fn), loop)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"the live relay did not answer within {timeout} s") from None

    def call_soon(self, fn: Callable[..., object], *args) -> None:
        """Schedule a plain callback on the loop (thread-safe, does not wait)."""
        self.loop.call_soon_threadsafe(fn, *args)

    def run_blocking(self, fn: Callable[..., T], *args) -> "asyncio.Future[T]":
        """From inside the loop: run blocking work (database writes) on the pool; await the result."""
        self.loop  # noqa: B018 - make sure the pool exists
        return asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def stop(self) -> None:
        with self._lock:
            loop, thread, pool = self._loop, self._thread, self._pool
            self._loop = self._thread = self._pool = None
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
        if pool is not None:
            pool.shutdown(wait=False)


async def _call(coro_fn):
    return await coro_fn()


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_default = LoopThread()


def default() -> LoopThread:
    """The process's live loop."""
    return _default
