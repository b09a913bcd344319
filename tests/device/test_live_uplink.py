"""What the recorder hands the live view, decoded: only what it records after an activation
(never the pre-event buffer, never while only buffering), the very packets of the clip, and
nothing the live view does can stop or change a recording. The network side is tested end to
end in tests/test_live_view_live.py."""

from __future__ import annotations

import queue
from fractions import Fraction

import av

from bodycam.device import gnss
from bodycam.device.live import LiveUplink
from bodycam.device.recorder import Recorder
from bodycam.device.sources import barcode_frames, read_barcode
from bodycam.device.triggers import Event

from .helpers import FPS, START_EPOCH, camera, decode, recordings


class Viewer:
    """Decodes what the live view is given (a real H.264 decoder) and keeps the calls."""

    def __init__(self):
        self.codec = av.CodecContext.create("h264", "r")
        self.frames: list[int] = []
        self.calls: list[tuple] = []
        self.packets = 0

    def packet(self, pkt):
        self.packets += 1
        if not self.frames and not pkt.keyframe:
            return  # as the uplink does: a stream starts at a keyframe
        for f in self.codec.decode(av.Packet(pkt.data)):
            self.frames.append(read_barcode(f))

    def __getattr__(self, hook):  # started, position, watchme, stopped
        return lambda *args: self.calls.append((hook, *args))


def shift(tmp_path, live, frames=250, on=100, off=200, **settings):
    storage, config = camera(tmp_path / "cam", buffer_seconds=5, live_position_interval_s=2, **settings)
    track = gnss.simulated([[59.33, 18.06], [59.34, 18.07]], speed_mps=100)
    rec = Recorder(storage, config, epoch0=START_EPOCH, gnss=track, fsync=False)
    rec.live = live
    src = barcode_frames(config.width, config.height)
    for i in range(frames):
        if i == on:
            rec.handle(Event("record", source="button"), Fraction(i, FPS))
        if i == on + 30:
            rec.handle(Event("watchme", source="button"), Fraction(i, FPS))
        if i == off:
            rec.handle(Event("stop", source="button"), Fraction(i, FPS))
        rec.feed_video(next(src), i)
    rec.shutdown()
    return storage, rec


def test_live_gets_only_what_is_recorded_after_the_press(tmp_path):
    viewer = Viewer()
    storage, rec = shift(tmp_path, viewer)
    (recording,) = recordings(storage)
    clip = decode(recording["dir"] / recording["clips"][0]["object"])
    assert clip.first_index <= 50 and clip.last_index == 199 and clip.contiguous  # the buffer is in the clip
    # live: from the press (at the first keyframe the decoder can use) to the stop, never the buffer
    assert viewer.packets == 100  # one per frame recorded from the press to the stop
    assert viewer.frames and viewer.frames[0] >= 100 and viewer.frames[-1] == 199
    assert viewer.frames == list(range(viewer.frames[0], 200))
    assert viewer.frames[0] < 100 + FPS + 1  # within one keyframe interval of the press
    hooks = [c[0] for c in viewer.calls]
    assert hooks[0] == "started" and hooks[-1] == "stopped" and "watchme" in hooks
    started, stopped = viewer.calls[0], viewer.calls[-1]
    assert started[1] == recording["container"] == stopped[1] and started[2] == "Button"
    assert started[3] == START_EPOCH + 10 and started[4].offset == 10.0  # where the camera was at the press
    positions = [c for c in viewer.calls if c[0] == "position"]
    assert [round(c[2] - START_EPOCH, 1) for c in positions] == [12.0, 14.0, 16.0, 18.0]  # every 2 s while recording
    # only buffering: nothing at all
    idle = Viewer()
    shift(tmp_path / "idle", idle, on=10_000, off=10_001)
    assert idle.frames == [] and idle.calls == []


class Broken:
    def __getattr__(self, hook):
        def fail(*args):
            raise RuntimeError("the network stack fell over")
        return fail


def test_a_failing_live_view_never_stops_the_recording(tmp_path):
    storage, rec = shift(tmp_path, Broken())
    (recording,) = recordings(storage)
    clip = decode(recording["dir"] / recording["clips"][0]["object"])
    assert recording["state"] == "closed" and clip.last_index == 199 and clip.contiguous
    errors = [e for e in storage.events() if e["event"] == "live.error"]
    assert {e["hook"] for e in errors} == {"started", "packet", "position", "watchme", "stopped"}
    assert rec.watchme(Fraction(0)) is False  # not recording: ignored, logged
    assert storage.events()[-1]["event"] == "watchme.ignored"


def test_uplink_queue_never_waits_and_drops_to_the_next_keyframe(tmp_path):
    storage, config = camera(tmp_path / "cam")
    from bodycam.device.encoder import Encoder

    enc = Encoder(config.width, config.height, FPS, 150_000, 5, audio=False)  # a keyframe every 5 frames
    src = barcode_frames(config.width, config.height)
    packets = [p for i in range(40) for p in enc.encode_video(next(src), i)]
    up = LiveUplink("http://127.0.0.1:9", config.serial, storage.key(), frame_queue=7)  # nothing listens there
    try:
        up._streaming = True  # as when its connection is up
        for p in packets:  # nobody drains the queue: the first 7 are kept, then drops until a keyframe
            up.packet(p)
        kept = []
        while True:
            try:
                kept.append(up._frames.get_nowait())
            except queue.Empty:
                break
        assert [p.pts for p in kept] == list(range(7)) and kept[0].keyframe
        assert up.stats["dropped_packets"] == 40 - 7
        for p in packets[10:]:  # room again: it starts at the next keyframe (frame 10), never mid-GOP
            up.packet(p)
        assert up._frames.get_nowait().pts == 10
    finally:
        up.close(1)
