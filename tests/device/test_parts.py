"""The pieces on their own: manifest signing/verification, the ring buffer's bounds with
real encoded packets, GNSS parsing, settings validation."""

import json
from fractions import Fraction

import av
import pytest

from bodycam.device.buffer import PreEventBuffer
from bodycam.device.config import ConfigError, DeviceConfig
from bodycam.device.encoder import Encoder
from bodycam.device.gnss import location_string, parse_gpx, parse_nmea
from bodycam.device.sources import Source
from bodycam.provenance import manifest as mf
from bodycam.provenance.keys import load_or_create, public_b64

SHA = "ab" * 32


def payload(**clip):
    return {"clip": {"object": "20261120_080000_1.mp4", "sha256": SHA, "size": 1234, **clip},
            "recording": {"container": "u_BWC-1_20261120T080000Z"}, "device": {"serial": "BWC-1"}}


def test_manifest_signs_and_verifies_and_catches_every_change(tmp_path):
    key = load_or_create(tmp_path / "k.pem")
    pub = public_b64(key)
    doc = mf.sign(payload(), key)
    ok = mf.verify(doc, pub, clip_sha256=SHA, clip_object="20261120_080000_1.mp4", clip_size=1234,
                   device_serial="BWC-1", container="u_BWC-1_20261120T080000Z")
    assert ok.valid, ok.reason
    assert not mf.verify(doc, pub, clip_sha256="cd" * 32).valid                 # clip bytes changed
    assert not mf.verify(doc, pub, device_serial="BWC-2").valid                  # another camera's
    assert not mf.verify(doc, pub, container="other").valid                      # another recording
    other = public_b64(load_or_create(tmp_path / "other.pem"))
    assert "does not verify" in mf.verify(doc, other).reason                     # wrong key
    assert "no registered public key" in mf.verify(doc, "").reason
    edited = json.loads(doc)
    edited["payload"]["clip"]["size"] = 1235
    assert "does not verify" in mf.verify(json.dumps(edited).encode(), pub).reason
    assert not mf.verify(b"not json", pub).valid
    assert not mf.verify(b"x" * (mf.MAX_BYTES + 1), pub).valid
    with pytest.raises(mf.ManifestError):
        mf.sign(payload(duration=1.5), key)                                      # floats are not canonical
    with pytest.raises(mf.ManifestError):
        mf.sign(payload(sha256="nope"), key)


def _packets(seconds, width=320, height=240, fps=10, bitrate=800_000):
    enc = Encoder(width, height, fps, bitrate, gop=fps, audio=False)
    src = Source("testsrc2", width, height, fps, audio=False).video()
    out = []
    for i in range(int(seconds * fps)):
        out += enc.encode_video(next(src), i)
    return out


def test_buffer_is_bounded_by_seconds_and_by_bytes():
    packets = _packets(20)
    assert sum(p.keyframe for p in packets) == 20
    by_time = PreEventBuffer(5, 1 << 30)
    for p in packets:
        by_time.push(p)
    kept = by_time.drain(now=Fraction(20))
    assert kept[0].keyframe and kept[0].t == 15                 # the oldest keyframe within 5 s
    gop_bytes = max(sum(len(p) for p in packets if int(p.t) == s) for s in range(20))
    cap = 3 * gop_bytes
    by_bytes = PreEventBuffer(30, cap)
    for p in packets:
        by_bytes.push(p)
        assert by_bytes.bytes <= cap + gop_bytes                # never more than the cap plus the GOP being filled
    assert by_bytes.peak_bytes <= cap + gop_bytes
    kept = by_bytes.drain(now=Fraction(20))
    assert kept[0].keyframe and 20 - kept[0].t <= 4             # bytes, not seconds, set the limit here
    zero = PreEventBuffer(0, cap)
    for p in packets:
        zero.push(p)
    assert zero.drain() == []


def test_nmea_and_gpx_tracks():
    def sentence(body):
        x = 0
        for ch in body:
            x ^= ord(ch)
        return f"${body}*{x:02X}"

    nmea = "\n".join([
        sentence("GPRMC,081000.00,A,5543.1045,N,01313.2710,E,10.0,90.0,201126,,,A"),
        sentence("GPRMC,081010.00,A,5543.1100,N,01313.3000,E,10.0,90.0,201126,,,A"),
        sentence("GPGGA,081020.00,5543.1200,N,01313.3500,E,1,08,0.9,20.0,M,40.0,M,,"),
        "$GPRMC,081030.00,A,5543.1300,N,01313.4000,E,10.0,90.0,201126,,,A*00",   # bad checksum: skipped
        "garbage line",
    ])
    track = parse_nmea(nmea)
    assert [round(f.offset) for f in track.fixes] == [0, 10, 20]
    mid = track.at(5)
    assert 55.7184 < mid.lat < 55.7186 and 13.2211 < mid.lon < 13.2217
    gpx = """<?xml version="1.0"?><gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>
      <trkpt lat="55.70" lon="13.19"><time>2026-11-20T08:00:00Z</time></trkpt>
      <trkpt lat="55.71" lon="13.20"><time>2026-11-20T08:01:40Z</time></trkpt></trkseg></trk></gpx>"""
    g = parse_gpx(gpx)
    assert g.at(50).lat == pytest.approx(55.705) and g.at(1000).lon == pytest.approx(13.20)
    assert location_string(g.at(0), 1795161600) == "+55.700000+013.190000+5.0+1795161600"


def test_settings_are_validated():
    for bad in (dict(buffer_seconds=121), dict(buffer_seconds=-1), dict(container_type="avi"), dict(width=641),
                dict(serial="bad serial"), dict(user_id="officer-1"), dict(clip_seconds=1), dict(fps=0)):
        with pytest.raises(ConfigError):
            DeviceConfig(**bad).validate()
    with pytest.raises(ConfigError):
        DeviceConfig.from_dict({"bogus": 1})
    assert DeviceConfig().validate().gop == 30


def test_file_source_is_retimed_and_looped(tmp_path):
    from bodycam.media.synth import make_clip

    path = make_clip(str(tmp_path / "in.mp4"), seconds=1, fps=25, width=160, height=120)
    src = Source(path, 160, 120, 10, audio=True)
    it = src.video()
    frames = [next(it) for _ in range(25)]                     # 2.5 s from a 1 s file: looped
    assert all(isinstance(f, av.VideoFrame) for f in frames)
    audio = src.audio()
    assert sum(next(audio).samples for _ in range(5)) > 0


def test_device_and_provenance_never_import_django():
    import subprocess
    import sys

    code = ("import sys, pkgutil, importlib, bodycam.device, bodycam.provenance\n"
            "for pkg in (bodycam.device, bodycam.provenance):\n"
            "    for m in pkgutil.iter_modules(pkg.__path__):\n"
            "        importlib.import_module(pkg.__name__ + '.' + m.name)\n"
            "import bodycam.cli\n"
            "bodycam.cli.build_parser()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
