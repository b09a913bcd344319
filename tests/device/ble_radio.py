"""A virtual Bluetooth LE radio for tests: bumble controllers on one ``LocalLink``, each
reachable over a TCP HCI transport (``tcp-client:127.0.0.1:PORT``), so emitters and cameras
use exactly the transport code they use with a USB dongle, in this process or another.

The radio is the only thing simulated: advertisements are real bytes from the real emitter,
reported to the real scanner. ``rssi`` sets, per controller, the signal strength its host is
told it heard (bumble's virtual controller always says -50 dBm): the distance from the others.
"""

from __future__ import annotations

import asyncio
import threading

from bumble import hci
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport import open_transport

from ..live import free_port


class VirtualRadio:
    def __init__(self, count: int, rssi: dict[int, int] | None = None):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="virtual-radio", daemon=True)
        self.ports = [free_port() for _ in range(count)]
        self.rssi = dict(rssi or {})
        self.transports = []
        self.controllers: list[Controller] = []

    def __enter__(self) -> "VirtualRadio":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self.loop).result(30)
        return self

    async def _open(self) -> None:
        self.link = LocalLink()
        for i, port in enumerate(self.ports):
            transport = await open_transport(f"tcp-server:127.0.0.1:{port}")
            controller = Controller(f"C{i}", host_source=transport.source, host_sink=transport.sink, link=self.link)
            self._attenuate(i, controller)
            self.transports.append(transport)
            self.controllers.append(controller)

    def _attenuate(self, index: int, controller: Controller) -> None:
        send = controller.send_hci_packet

        def send_hci_packet(packet):
            rssi = self.rssi.get(index)
            if rssi is not None and isinstance(packet, hci.HCI_LE_Advertising_Report_Event):
                packet = hci.HCI_LE_Advertising_Report_Event(
                    [hci.HCI_LE_Advertising_Report_Event.Report(
                        event_type=r.event_type, address_type=r.address_type, address=r.address, data=r.data,
                        rssi=rssi) for r in packet.reports])
            elif rssi is not None and isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
                for r in packet.reports:
                    r.rssi = rssi
                packet = hci.HCI_LE_Extended_Advertising_Report_Event(packet.reports)
            send(packet)

        controller.send_hci_packet = send_hci_packet

    def transport(self, index: int) -> str:
        return f"tcp-client:127.0.0.1:{self.ports[index]}"

    def __exit__(self, *exc) -> None:
        async def close():
            for t in self.transports:
                try:
                    await asyncio.wait_for(t.close(), 5)
                except Exception:
                    pass

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
