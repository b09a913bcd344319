"""Simulated footage straight into the catalogue, in-process (how ``bodycam demo`` can load
an incident without a network): the same validate-then-commit pipeline, signatures checked."""

import uuid

import pytest

from bodycam.device.camera import simulate_incident
from bodycam.device.dock import closed_recordings
from bodycam.device.storage import DeviceStorage


@pytest.mark.django_db
def test_incident_footage_ingests_with_valid_signatures(tmp_path):
    from bodycam.evidence.models import Clip, Device, Officer
    from bodycam.ingest import services
    from bodycam.ingest.signatures import set_device_key

    cams = [("CAR-17", "vehicle"), ("BWC-1001", "body"), ("BWC-1002", "body")]
    scenario = {"start": "2026-11-20T08:00:00Z", "duration": 12,
                "cameras": [{"serial": s, "kind": k, "user_id": str(uuid.uuid4()), "groups": ["CAR-17"]} for s, k in cams],
                "events": [{"t": 4, "signal": "lightbar", "vehicle": "CAR-17"}, {"t": 10, "action": "stop"}]}
    simulate_incident(tmp_path, "testsrc2", scenario, {"width": 160, "height": 120, "fps": 10, "bitrate": 150_000,
                                                       "buffer_seconds": 2, "clip_seconds": 5})
    for cam in scenario["cameras"]:
        Officer.objects.create(axis_user_id=cam["user_id"], name=cam["serial"])
        Device.objects.create(serial=cam["serial"], kind=cam["kind"])
        storage = DeviceStorage(tmp_path / cam["serial"])
        set_device_key(cam["serial"], (storage.keys_dir / "device.pub").read_text(), actor="test")
        for container, meta, items in closed_recordings(storage):
            services.put_recording(container, {**meta, "Status": "Transferring"}, "test", "", replace=True)
            for item in items:
                with open(item.path, "rb") as f:
                    services.put_object(container, item.name, f, item.path.stat().st_size, None, item.meta, "test", "")
            services.put_recording(container, {"Status": "Complete"}, "test", "", replace=False)
    clips = Clip.objects.select_related("recording__device")
    assert {c.recording.device.serial for c in clips} == {s for s, _ in cams}
    assert {c.signature for c in clips} == {"valid"}
    assert {c.recording.trigger_on for c in clips} == {"SignalLightBar"}
    assert len({c.recording.start_time for c in clips}) == 1          # one incident, one timeline
