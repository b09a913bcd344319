"""Bluetooth LE signals over a real HCI controller, with bumble: the camera's scanner (one
more trigger source feeding ``sink(Event)``), its group-start advertiser, and the emitter
used by ``bodycam signal send --ble`` on a vehicle computer or a small Linux box with a
USB/serial BLE dongle.

A transport is a bumble transport name: ``usb:0`` (the first USB dongle), ``serial:/dev/ttyACM0``,
``hci-socket:0`` (a BlueZ adapter taken over by bumble), ``tcp-client:HOST:PORT`` (a virtual
controller, as the tests use). bumble runs in a thread of its own with its own event loop;
the camera's recorder thread never waits on the radio.

The bytes on the air and every decision about them are ``device/signals.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable

from ..errors import BodycamError
from . import signals as sig
from .triggers import Event

SCAN_INTERVAL_MS = 100.0   # continuous passive scan: interval == window
SCAN_WINDOW_MS = 100.0
ADV_INTERVAL_MS = 100.0    # each signal goes out every 100 ms ...
SEND_SECONDS = 1.5         # ... for 1.5 s (an emitter), or
GROUP_SECONDS = 2.0        # ... 2 s (a camera's group start)


class BleError(BodycamError, OSError):
    pass


class BleRadio:
    """One bumble host on one HCI transport, running in its own thread and event loop."""

    def __init__(self, transport: str, name: str = "bodycam"):
        self.transport_name = transport
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.device = None
        self._transport = None
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"ble-{name}", daemon=True)
        self._adv_task: asyncio.Task | None = None

    def start(self, timeout: float = 20.0) -> "BleRadio":
        self._thread.start()
        try:
            self.call(self._open(), timeout)
        except BaseException:
            self.close()
            raise
        return self

    def call(self, coro, timeout: float = 20.0):
        """Run a coroutine on the radio's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _open(self) -> None:
        from bumble import hci
        from bumble.device import Device
        from bumble.transport import open_transport

        try:
            self._transport = await open_transport(self.transport_name)
        except Exception as exc:  # bumble raises several kinds (no dongle, refused, bad name)
            raise BleError(f"cannot open BLE transport {self.transport_name!r}: {exc}") from None
        self.device = Device.with_hci(self.name, hci.Address.generate_static_address(), self._transport.source,
                                      self._transport.sink)
        await self.device.power_on()

    # -- advertising
    async def _advertise(self, data: bytes, seconds: float, interval_ms: float) -> None:
        from bumble.device import AdvertisingType

        await self.device.start_advertising(advertising_type=AdvertisingType.UNDIRECTED, advertising_data=data,
                                            advertising_interval_min=interval_ms,
                                            advertising_interval_max=interval_ms)
        try:
            await asyncio.sleep(seconds)
        finally:
            try:
                await asyncio.wait_for(self.device.stop_advertising(), 5)
            except Exception:  # the transport is going away (camera switched off): nothing to stop
                pass

    def advertise(self, data: bytes, seconds: float, interval_ms: float = ADV_INTERVAL_MS) -> None:
        """Advertise ``data`` for ``seconds`` and return when done."""
        self.call(self._advertise(data, seconds, interval_ms), seconds + 20)

    def advertise_later(self, data: bytes, seconds: float, interval_ms: float = ADV_INTERVAL_MS) -> None:
        """Start advertising without waiting (a newer burst replaces one still running)."""

        async def burst():
            if self._adv_task is not None and not self._adv_task.done():
                self._adv_task.cancel()
                try:
                    await self._adv_task
                except (asyncio.CancelledError, Exception):
                    pass
            self._adv_task = asyncio.current_task()
            await self._advertise(data, seconds, interval_ms)

        asyncio.run_coroutine_threadsafe(burst(), self.loop)

    # -- scanning
    def scan(self, on_advertisement: Callable) -> None:
        def handler(adv):
            if not adv.is_scan_response:
                on_advertisement(adv.data_bytes, adv.rssi, str(adv.address))

        async def start():
            self.device.on("advertisement", handler)
            await self.device.start_scanning(active=False, scan_interval=SCAN_INTERVAL_MS, scan_window=SCAN_WINDOW_MS,
                                             filter_duplicates=False)

        self.call(start())

    def close(self) -> None:
        async def shut():
            if self._adv_task is not None and not self._adv_task.done():
                self._adv_task.cancel()
                await asyncio.gather(self._adv_task, return_exceptions=True)
            if self._transport is not None:
                try:
                    await asyncio.wait_for(self._transport.close(), 5)
                except Exception:  # closing a dead transport: nothing more to do
                    pass

        if self._thread.is_alive():
            try:
                self.call(shut(), 10)
            except Exception:  # noqa: BLE001 - best effort on the way down
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


class BleListener:
    """The camera's BLE trigger source: passes each accepted signal to ``sink``; after a
    recording starts, ``group_start`` advertises to the unit's other cameras."""

    def __init__(self, transport: str, keys: sig.CameraKeys, verifier: sig.Verifier, sink: Callable[[Event], None],
                 name: str = "camera"):
        self.keys = keys
        self.verifier = verifier
        self.sink = sink
        self.radio = BleRadio(transport, name)
        self.frames: dict[str, sig.Frame] = {}
        self.heard = 0
        self.sent: list[sig.Frame] = []
        self._lock = threading.Lock()

    def start(self) -> "BleListener":
        self.radio.start()
        self.radio.scan(self._on_advertisement)
        return self

    def _on_advertisement(self, data: bytes, rssi: int, address: str) -> None:
        self.heard += 1
        with self._lock:
            result = self.verifier.check(data, rssi, address)
        if result is None:
            return
        frame, event = result
        self.frames[event.id] = frame
        if len(self.frames) > 256:
            self.frames.pop(next(iter(self.frames)))
        self.sink(event)

    def group_start(self, event: Event | None) -> sig.Frame | None:
        """Called when this camera starts recording. A start caused by a BLE group start is
        relayed (same unit, emitter and counter, one hop more) while hops stay within the
        policy's ``group_hops``; any other start originates a group start for this camera's
        unit. Loop suppression: cameras act once per (unit, emitter, counter), ignore their own
        group starts, and relays stop after ``group_hops``."""
        frame = self.frames.get(event.id) if event is not None else None
        if frame is not None and frame.event == "group":
            if frame.hops + 1 > self.verifier.policy.group_hops:
                return None
            out = sig.Frame("group", frame.unit, frame.emitter, frame.counter, frame.key_id, frame.hops + 1, 0,
                            frame.company_id)
        else:
            if not (self.keys.unit and self.keys.emitter):
                return None  # not provisioned with a unit of its own: cannot start the group
            with self._lock:
                counter = self.verifier.next_own_counter()
            agency = self.keys.agency
            out = sig.Frame("group", self.keys.unit, self.keys.emitter, counter, agency.key_id, 0, 0,
                            agency.company_id)
        self.radio.advertise_later(sig.encode(out, self.keys.emitter_key(out.unit, out.emitter)), GROUP_SECONDS)
        self.sent.append(out)
        return out

    def stop(self) -> None:
        self.radio.close()


def send_ble_signal(kind: str, key: sig.EmitterKey, transport: str, counter_file, value: float | None = None,
                    seconds: float = SEND_SECONDS, interval_ms: float = ADV_INTERVAL_MS,
                    radio: BleRadio | None = None) -> dict:
    """Emit one signal: the next counter is written to ``counter_file`` first, then the
    advertisement goes out every ``interval_ms`` for ``seconds``. Pass an open ``radio`` to
    send several signals without reopening the dongle."""
    if kind not in sig.EVENT_CODES:
        raise ValueError(f"unknown BLE signal {kind!r}; one of {', '.join(sig.EVENT_CODES)}")
    v = 0 if value is None else int(round(value))
    if not 0 <= v <= 255:
        raise ValueError("value (speed in km/h) must be 0-255")
    frame = sig.Frame(kind, key.unit, key.emitter, sig.next_counter(counter_file), key.key_id, 0, v, key.company_id)
    data = sig.encode(frame, key.key)
    own = radio is None
    radio = radio or BleRadio(transport, "emitter").start()
    try:
        t0 = time.time()
        radio.advertise(data, seconds, interval_ms)
    finally:
        if own:
            radio.close()
    return {"signal": kind, "unit": frame.unit, "emitter": frame.emitter, "counter": frame.counter,
            "value": v, "sent_at": round(t0, 3), "advertisement": data.hex()}
