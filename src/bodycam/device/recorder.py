"""The camera's recording engine, driven frame by frame on a timeline.

``Recorder`` is fed decoded frames with their position on the camera's timeline (seconds
since the camera started) and events (activation, stop, bookmark, still, flag) between
frames. The same engine runs in real time (``bodycam camera run``) and on a virtual clock
(``bodycam camera simulate``): only the caller's pacing differs.

While idle, encoded packets go to the pre-event buffer. On activation the recording
starts at the oldest keyframe in the buffer (or, with an empty buffer, at a keyframe
forced at the activation) and continues until stop, split into clips of ``clip_seconds``
at keyframes. Each closed clip is hashed and signed (``provenance.manifest``) and the
recording's state file is updated atomically, so a crash leaves every closed clip intact
and the open clip playable up to its last fragment; ``recover()`` finishes such a
recording on the next start.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av

from ..provenance import manifest as mf
from ..provenance.hashing import sha256_file
from ..timefmt import iso_from_epoch
from .buffer import PreEventBuffer
from .clipwriter import ClipWriter, repair_fragmented_mp4
from .config import DeviceConfig
from .encoder import EncodedPacket, Encoder
from .gnss import Track, location_string
from .storage import CLOSED, RECORDING, DeviceStorage, read_json, write_bytes_atomic, write_json_atomic
from .triggers import SIGNALS, Event, Policy, hears

iso = iso_from_epoch  # manifest times (bodycam.timefmt)


def compact(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y%m%d_%H%M%S")


def epoch_str(epoch: float) -> str:
    return f"{epoch:.3f}"


class Session:
    """One recording in progress: its directory, clips and container metadata."""

    def __init__(self, rec: "Recorder", trigger: str, t_on: Fraction, event: Event | None):
        self.rec = rec
        cfg = rec.config
        on_epoch = rec.epoch(t_on)
        name = f"{cfg.user_id}_{cfg.serial}_{compact(on_epoch)}"
        while rec.storage.recording_dir(name).exists():  # two recordings in one second
            on_epoch += 1
            name = f"{cfg.user_id}_{cfg.serial}_{compact(on_epoch)}"
        self.container = name
        self.dir = rec.storage.recording_dir(name)
        self.dir.mkdir(parents=True)
        self.rec_id = str(random.SystemRandom().randint(1000, 99999))
        self.trigger = trigger
        self.auto_signal = event.signal if event is not None and event.kind == "signal" else ""
        self.t_on = t_on
        self.start_t: Fraction | None = None
        self.writer: ClipWriter | None = None
        self.clip_name = ""
        self.clips: list[dict] = []
        self.trail: list[dict] = []
        self.next_gnss_t: Fraction | None = None
        self.on_location = rec.location(t_on)
        self.state = {
            "state": RECORDING, "container": name, "recording_id": self.rec_id, "clips": [], "open_clip": None,
            "priority": 0,
            "metadata": {
                "ContainerName": name, "BWCSerialNumber": cfg.serial, "FirmwareVersion": cfg.firmware,
                "UserID": cfg.user_id, "TriggerOn": trigger, "TriggerOnTime": epoch_str(on_epoch),
                "TriggerOnTimeISO": iso(on_epoch), "TimeZone": cfg.time_zone, "BWCModel": cfg.model,
                **({"TriggerOnLocation": self.on_location} if self.on_location else {}),
                # the unit/vehicle whose signal started it ("started by SignalSiren, unit 12")
                **({"TriggerOnUnit": event.vehicle[:64]} if self.auto_signal and event.vehicle else {}),
            },
            "trigger_event": event.to_dict() if event else {},
        }
        self.save()

    def save(self) -> None:
        write_json_atomic(self.dir / "recording.json", self.state)

    # -- packets
    def write(self, pkt: EncodedPacket) -> None:
        if self.writer is None:
            if pkt.kind != "video" or not pkt.keyframe:
                return
            self.start_t = pkt.t
            meta = self.state["metadata"]
            meta["StartTime"] = epoch_str(self.rec.epoch(pkt.t))
            meta["StartTimeISO"] = iso(self.rec.epoch(pkt.t))
            self.next_gnss_t = pkt.t
            self._open_clip(pkt.t)
        elif pkt.kind == "video" and pkt.keyframe and pkt.t - self.writer.start_t >= self.rec.clip_len:
            self._close_clip(pkt.t)
            self._open_clip(pkt.t)
        self.writer.write(pkt)

    def _open_clip(self, t: Fraction) -> None:
        ext = self.rec.config.container_type
        self.clip_name = f"{stamp(self.rec.epoch(t))}_{self.rec_id}.{ext}"
        n = 1
        while any(c["object"] == self.clip_name for c in self.clips):
            self.clip_name = f"{stamp(self.rec.epoch(t))}_{self.rec_id}_{n}.{ext}"
            n += 1
        self.writer = ClipWriter(self.dir / self.clip_name, ext, self.rec.encoder, t, fsync=self.rec.fsync)
        self.state["open_clip"] = {"object": self.clip_name, "start": epoch_str(self.rec.epoch(t)),
                                   "start_location": self.rec.location(t)}
        self.save()

    def _close_clip(self, end_t: Fraction | None = None) -> None:
        w = self.writer
        size = w.close()
        end = end_t if end_t is not None else w.end_t
        entry = finish_clip(self.rec, self.dir, self.state, self.clip_name, self.rec.epoch(w.start_t),
                            self.rec.epoch(end), self.rec.location(w.start_t), self.rec.location(end), size)
        self.clips.append(entry)
        self.writer = None

    def sample_gnss(self, t: Fraction) -> None:
        """Track points every gnss_interval_s from the recording's start (the buffered part included)."""
        if self.rec.gnss is None or self.next_gnss_t is None:
            return
        step = Fraction(self.rec.config.gnss_interval_s).limit_denominator(1000)
        while self.next_gnss_t <= t:
            at = self.next_gnss_t
            fix = self.rec.gnss.at(float(at))
            self.trail.append({"LocationWKT": f"POINT({fix.lon:.6f} {fix.lat:.6f})",
                               "SecondsFromStart": round(float(at - self.start_t), 3),
                               "Timestamp": iso(self.rec.epoch(at), ms=False)})
            self.next_gnss_t = at + step

    # -- stop
    def close(self, trigger: str, t_off: Fraction) -> Path:
        if self.writer is not None:
            self._close_clip(t_off)
        meta = self.state["metadata"]
        off_epoch = self.rec.epoch(t_off)
        stop_epoch = float(self.clips[-1]["metadata"]["StopTime"]) if self.clips else off_epoch
        meta.update({"TriggerOff": trigger, "TriggerOffTime": epoch_str(off_epoch), "TriggerOffTimeISO": iso(off_epoch),
                     "StopTime": epoch_str(stop_epoch), "StopTimeISO": iso(stop_epoch)})
        if "StartTime" not in meta:  # stopped before any frame arrived
            meta["StartTime"], meta["StartTimeISO"] = epoch_str(off_epoch), iso(off_epoch)
        loc = self.rec.location(t_off)
        if loc:
            meta["TriggerOffLocation"] = loc
        if self.trail:
            start_epoch = float(meta["StartTime"])
            gname = f"{stamp(start_epoch)}_{self.rec_id}_{self.rec.config.serial}_gpstrail.json"
            write_bytes_atomic(self.dir / gname, json.dumps({"CoordinateEntries": self.trail}, indent=1).encode())
            self.state["gnss"] = gname
        self.state["state"] = CLOSED
        self.state["open_clip"] = None
        self.save()
        return self.dir


def finish_clip(rec: "Recorder | None", rec_dir: Path, state: dict, clip_name: str, start_epoch: float,
                stop_epoch: float, start_loc: str, stop_loc: str, size: int, key=None, config=None) -> dict:
    """Hash and sign a finished clip; append it to the recording's state (atomically)."""
    config = config or rec.config
    key = key or rec.key
    path = rec_dir / clip_name
    sha = sha256_file(path)
    prev = state["clips"][-1]["sha256"] if state["clips"] else ""
    meta = state["metadata"]
    clip_meta = {"StartTime": epoch_str(start_epoch), "StartTimeISO": iso(start_epoch),
                 "StopTime": epoch_str(stop_epoch), "StopTimeISO": iso(stop_epoch),
                 "ContainerType": clip_name.rsplit(".", 1)[1]}
    if start_loc:
        clip_meta["StartLocation"] = start_loc
    if stop_loc:
        clip_meta["StopLocation"] = stop_loc
    payload = {
        "clip": {"object": clip_name, "sha256": sha, "size": size, "sequence": len(state["clips"]) + 1,
                 "previous_sha256": prev, "metadata": clip_meta},
        "recording": {"container": state["container"], "user_id": meta.get("UserID", ""),
                      "trigger_on": meta.get("TriggerOn", ""), "trigger_on_time": meta.get("TriggerOnTimeISO", ""),
                      "start_time": meta.get("StartTimeISO", clip_meta["StartTimeISO"]),
                      "time_zone": meta.get("TimeZone", "")},
        "device": {"serial": config.serial, "model": config.model, "firmware": config.firmware},
        "signed_at": iso(time.time()),
    }
    manifest_name = mf.manifest_name(clip_name)
    write_bytes_atomic(rec_dir / manifest_name, mf.sign(payload, key))
    entry = {"object": clip_name, "sha256": sha, "size": size, "manifest": manifest_name, "metadata": clip_meta}
    state["clips"].append(entry)
    state["open_clip"] = None
    write_json_atomic(rec_dir / "recording.json", state)
    return entry


class Recorder:
    def __init__(self, storage: DeviceStorage, config: DeviceConfig, policy: Policy | None = None,
                 epoch0: float | None = None, gnss: Track | None = None, fsync: bool = True):
        self.storage = storage.ensure()
        self.config = config
        self.policy = policy or Policy.default()
        self.epoch0 = time.time() if epoch0 is None else float(epoch0)
        self.gnss = gnss
        self.fsync = fsync
        self.key = storage.key()
        self.encoder = Encoder(config.width, config.height, config.fps, config.bitrate, config.gop,
                               audio=config.audio, audio_bitrate=config.audio_bitrate)
        # Audio stays in step with video in the buffer, but unless --buffer-audio what is kept
        # is silence: no sound from before the activation is ever held or recorded.
        self.buffer = PreEventBuffer(config.buffer_seconds, config.buffer_max_bytes, audio=config.audio)
        self.clip_len = Fraction(config.clip_seconds).limit_denominator(1000)
        self.session: Session | None = None
        self.now = Fraction(0)
        self.frames = 0
        self._still_pending: list[Event] = []
        self.on_start = None  # called with (trigger, event) after a recording starts (BLE group start)
        # Live view (device/live.py): told of starts, stops, positions and every packet written
        # while recording; its hooks only queue, so the recording never waits for the network.
        self.live = None
        self._next_live_pos: Fraction | None = None
        self.last_recording: Path | None = None
        self.closed_recordings: list[Path] = []

    # -- time and place
    def epoch(self, t: Fraction | float) -> float:
        return self.epoch0 + float(t)

    def location(self, t: Fraction | float) -> str:
        if self.gnss is None:
            return ""
        return location_string(self.gnss.at(float(t)), self.epoch(t))

    def log(self, event: str, t: Fraction | None = None, **fields) -> dict:
        t = self.now if t is None else t
        return self.storage.log_event(event, t=round(float(t), 3), at_epoch=round(self.epoch(t), 3), **fields)

    # -- frames
    def feed_video(self, frame: av.VideoFrame, index: int) -> None:
        t = Fraction(index, self.config.fps)
        self.now = t
        self.frames += 1
        if self._still_pending:
            events, self._still_pending = self._still_pending, []
            for ev in events:
                self._take_still(frame, t, ev)
        for pkt in self.encoder.encode_video(frame, index):
            self._route(pkt)
        if self.session is not None:
            self.session.sample_gnss(t)
            if self.live is not None and self._next_live_pos is not None and t >= self._next_live_pos:
                self._next_live_pos = t + Fraction(self.config.live_position_interval_s).limit_denominator(1000)
                self._tell_live("position", self.session.container, self.epoch(t), self._fix(t))

    # -- live view
    def _fix(self, t: Fraction):
        return self.gnss.at(float(t)) if self.gnss is not None else None

    def _tell_live(self, hook: str, *args) -> None:
        """Call a live-view hook; whatever goes wrong there, recording goes on."""
        try:
            getattr(self.live, hook)(*args)
        except Exception as exc:  # noqa: BLE001 - the live view must never stop a recording
            self.log("live.error", hook=hook, error=str(exc)[:200])

    def feed_audio(self, frame: av.AudioFrame, sample_index: int) -> None:
        for pkt in self.encoder.encode_audio(frame, sample_index):
            self._route(pkt)

    def _route(self, pkt: EncodedPacket) -> None:
        if self.session is not None:
            self.session.write(pkt)
            if self.live is not None and pkt.kind == "video":
                self._tell_live("packet", pkt)  # after the recording has it: the copy never comes first
        elif pkt.kind == "audio" and not self.config.buffer_audio:
            self.buffer.push(dataclasses.replace(pkt, data=self.encoder.silent_audio))
        else:
            self.buffer.push(pkt)

    # -- events
    def handle(self, event: Event, t: Fraction | None = None) -> bool:
        """Apply one event at timeline time ``t`` (default: now). Returns whether it acted."""
        t = self.now if t is None else t
        if event.kind == "signal":
            if event.signal not in SIGNALS:
                self.log("signal.ignored", t, signal=event.signal, reason="unknown signal", id=event.id)
                return False
            if not hears(self.config.groups, event):
                self.log("signal.ignored", t, signal=event.signal, vehicle=event.vehicle, reason="not in this camera's group",
                         id=event.id, source=event.source)
                return False
            if self.policy.stops(event) and self.session is not None and self.session.auto_signal == event.signal:
                return self.stop(SIGNALS[event.signal], t, event)
            ok, why = self.policy.activates(event)
            if not ok:
                self.log("signal.ignored", t, signal=event.signal, state=event.state, vehicle=event.vehicle, reason=why,
                         id=event.id, source=event.source)
                return False
            return self.activate(SIGNALS[event.signal], t, event)
        if event.kind == "record":
            return self.activate("Button", t, event)
        if event.kind == "stop":
            return self.stop("Button", t, event)
        if event.kind == "bookmark":
            return self.bookmark(t, event)
        if event.kind == "still":
            self._still_pending.append(event)
            return True
        if event.kind == "flag":
            return self.flag(event)
        if event.kind == "watchme":
            return self.watchme(t)
        self.log("event.ignored", kind=event.kind)
        return False

    def activate(self, trigger: str, t: Fraction, event: Event | None = None) -> bool:
        if self.session is not None:
            self.log("activate.ignored", t, trigger=trigger, reason="already recording",
                     recording=self.session.container, source=event.source if event else "")
            return False
        packets = self.buffer.drain(now=t)
        self.session = Session(self, trigger, t, event)
        if not packets:
            self.encoder.force_keyframe()
        for pkt in packets:
            self.session.write(pkt)
        self.log("recording.start", t, trigger=trigger, recording=self.session.container,
                 buffered_from=round(float(packets[0].t), 3) if packets else None,
                 source=event.source if event else "", signal_id=event.id if event else "")
        if self.on_start is not None:
            self.on_start(trigger, event)
        if self.live is not None:
            self._next_live_pos = t + Fraction(self.config.live_position_interval_s).limit_denominator(1000)
            self._tell_live("started", self.session.container, trigger, self.epoch(t), self._fix(t))
        return True

    def stop(self, trigger: str, t: Fraction, event: Event | None = None) -> bool:
        if self.session is None:
            self.log("stop.ignored", t, trigger=trigger, reason="not recording")
            return False
        s = self.session
        if trigger == "Button" and s.auto_signal and not self.policy.officer_may_cancel(s.auto_signal):
            self.log("stop.refused", t, trigger=trigger, recording=s.container,
                     reason=f"policy: officer may not cancel a {s.auto_signal} activation")
            return False
        self.session = None
        rec_dir = s.close(trigger, t)
        self.last_recording = rec_dir
        self.closed_recordings.append(rec_dir)
        self.log("recording.stop", t, trigger=trigger, recording=s.container, clips=len(s.clips),
                 source=event.source if event else "")
        if self.live is not None:
            self._tell_live("stopped", s.container, trigger, self.epoch(t), self._fix(t))
        return True

    def shutdown(self, reason: str = "PowerOff") -> None:
        """Camera switched off: finish any recording (a power-off always stops)."""
        if self.session is not None:
            s, self.session = self.session, None
            rec_dir = s.close(reason, self.now + Fraction(1, self.config.fps))
            self.last_recording = rec_dir
            self.closed_recordings.append(rec_dir)
            self.log("recording.stop", trigger=reason, recording=s.container, clips=len(s.clips))
            if self.live is not None:
                self._tell_live("stopped", s.container, reason, self.epoch(self.now), self._fix(self.now))

    def _target_dir(self) -> Path | None:
        if self.session is not None:
            return self.session.dir
        return self.last_recording

    def bookmark(self, t: Fraction, event: Event) -> bool:
        target = self._target_dir()
        if target is None or (target / "upload.json").exists():
            self.log("bookmark.ignored", t, reason="no recording to bookmark")
            return False
        epoch = self.epoch(t)
        name = f"bookmark_{int(epoch)}_{event.id[:8]}"
        meta = {"StartTime": iso(epoch, ms=False)}
        if event.category_id:
            meta["CategoryID"] = event.category_id
        if event.category_name:
            meta["CategoryName"] = event.category_name
        if event.tags:
            meta["Tags"] = event.tags
        write_json_atomic(target / f".{name}.json", meta)
        write_bytes_atomic(target / name, event.text.encode("utf-8"))
        self.log("bookmark", t, recording=target.name, object=name, category=event.category_name)
        return True

    def watchme(self, t: Fraction) -> bool:
        """"Watch me": ask supervisors to look at this camera now (only while recording, with live view)."""
        if self.session is None or self.live is None:
            self.log("watchme.ignored", t, reason="not recording" if self.session is None else "live view is off")
            return False
        self._tell_live("watchme", self.session.container, self.epoch(t), self._fix(t))
        self.log("watchme", t, recording=self.session.container)
        return True

    def flag(self, event: Event) -> bool:
        target = self._target_dir()
        if target is None:
            return False
        write_bytes_atomic(target / ".flag", (event.text or "flagged").encode())
        self.log("flag", recording=target.name)
        return True

    def _take_still(self, frame: av.VideoFrame, t: Fraction, event: Event) -> None:
        path = make_still(self, frame, t, event)
        self.log("still", recording=path.name)

    def close(self) -> None:
        self.shutdown("PowerOff")


def make_still(rec: Recorder, frame: av.VideoFrame, t: Fraction, event: Event) -> Path:
    """A still photo is its own recording: one single-frame clip, signed like any other."""
    cfg = rec.config
    epoch = rec.epoch(t)
    name = f"{cfg.user_id}_{cfg.serial}_{compact(epoch)}"
    while rec.storage.recording_dir(name).exists():
        epoch += 1
        name = f"{cfg.user_id}_{cfg.serial}_{compact(epoch)}"
    d = rec.storage.recording_dir(name)
    d.mkdir(parents=True)
    rec_id = str(random.SystemRandom().randint(1000, 99999))
    loc = rec.location(t)
    state = {"state": RECORDING, "container": name, "recording_id": rec_id, "clips": [], "open_clip": None,
             "priority": 0, "still": True,
             "metadata": {"ContainerName": name, "BWCSerialNumber": cfg.serial, "FirmwareVersion": cfg.firmware,
                          "UserID": cfg.user_id, "TriggerOn": "Still", "TriggerOnTime": epoch_str(epoch),
                          "TriggerOnTimeISO": iso(epoch), "StartTime": epoch_str(epoch), "StartTimeISO": iso(epoch),
                          "TimeZone": cfg.time_zone, "BWCModel": cfg.model,
                          **({"TriggerOnLocation": loc} if loc else {})}}
    write_json_atomic(d / "recording.json", state)
    clip = f"{stamp(epoch)}_{rec_id}_still.mp4"
    with av.open(str(d / clip), "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=1)
        s.width, s.height, s.pix_fmt = frame.width - frame.width % 2, frame.height - frame.height % 2, "yuv420p"
        s.options = {"preset": "veryfast", "crf": "12"}
        f = frame.reformat(width=s.width, height=s.height, format="yuv420p")
        f.pts, f.time_base, f.pict_type = 0, Fraction(1, 1), av.video.frame.PictureType.NONE
        for p in s.encode(f):
            out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    size = (d / clip).stat().st_size
    stop = epoch + 1.0 / cfg.fps
    finish_clip(None, d, state, clip, epoch, stop, loc, loc, size, key=rec.key, config=cfg)
    state["metadata"].update({"TriggerOff": "Still", "TriggerOffTime": epoch_str(stop), "TriggerOffTimeISO": iso(stop),
                              "StopTime": epoch_str(stop), "StopTimeISO": iso(stop)})
    state["state"] = CLOSED
    write_json_atomic(d / "recording.json", state)
    return d


def _playable_seconds(path: Path) -> float | None:
    """Seconds of video that decode from a (possibly cut-off) clip; None if nothing plays."""
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return None
            end, start = None, None
            for pkt in c.demux(c.streams.video[0]):
                if pkt.pts is None:
                    continue
                t0 = float(pkt.pts * pkt.time_base)
                t1 = t0 + float((pkt.duration or 0) * pkt.time_base)
                start = t0 if start is None else min(start, t0)
                end = t1 if end is None else max(end, t1)
            return None if end is None else end - start
    except (av.error.FFmpegError, OSError):
        return None


def recover(storage: DeviceStorage, config: DeviceConfig) -> list[str]:
    """Finish recordings that a crash or power loss left open: sign the clip that was being
    written (it plays up to its last fragment) and close the recording (TriggerOff PowerLoss)."""
    recovered = []
    key = None
    for d in storage.recordings():
        state = read_json(d / "recording.json")
        if not state or state.get("state") != RECORDING:
            continue
        key = key or storage.key()
        open_clip = state.get("open_clip")
        stop_epoch = None
        if open_clip and (d / open_clip["object"]).exists():
            path = d / open_clip["object"]
            if path.suffix == ".mp4":
                repair_fragmented_mp4(path)  # drop a half-written trailing fragment
            seconds = _playable_seconds(path)
            if seconds is not None and seconds > 0:
                start = float(open_clip["start"])
                stop_epoch = start + seconds
                finish_clip(None, d, state, open_clip["object"], start, stop_epoch, open_clip.get("start_location", ""),
                            "", path.stat().st_size, key=key, config=config)
            else:
                path.rename(path.with_name(path.name + ".unplayable"))  # kept, never uploaded as a clip
        meta = state["metadata"]
        if stop_epoch is None and state["clips"]:
            stop_epoch = float(state["clips"][-1]["metadata"]["StopTime"])
        if stop_epoch is None:
            stop_epoch = float(meta.get("StartTime", meta["TriggerOnTime"]))
        meta.setdefault("StartTime", meta["TriggerOnTime"])
        meta.setdefault("StartTimeISO", meta["TriggerOnTimeISO"])
        meta.update({"TriggerOff": "PowerLoss", "TriggerOffTime": epoch_str(stop_epoch),
                     "TriggerOffTimeISO": iso(stop_epoch), "StopTime": epoch_str(stop_epoch),
                     "StopTimeISO": iso(stop_epoch)})
        state["state"] = CLOSED
        state["open_clip"] = None
        state["recovered"] = True
        write_json_atomic(d / "recording.json", state)
        storage.log_event("recording.recovered", recording=d.name, clips=len(state["clips"]))
        recovered.append(d.name)
    return recovered
