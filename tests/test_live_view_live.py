"""Live view end to end, without a browser: a real camera (``bodycam camera run --live-url``,
a barcode source: each frame shows its own number) publishes to a real ``bodycam serve``;
a Python WebRTC viewer signed in as the officer's supervisor decodes the relayed frames.
The server is stopped mid-stream and started again: the recording does not notice, the
stream resumes. (The browser's side is tests/test_live_view_browser.py.)"""

from __future__ import annotations

import json
import time

import av
import pytest

from bodycam.device.sources import read_barcode
from bodycam.provenance import manifest as mf
from bodycam.provenance.hashing import sha256_file
from bodycam.provenance.keys import load_or_create, public_b64

from .live_view import Viewer, http_sign_in, session_id_of, start_site, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.catalogue]


def onair(http, server) -> list[dict]:
    return http.get(server.url + "/live/onair.json", timeout=30).json()["sessions"]


def recorded_frames(rec_dir) -> list[int]:
    """Frame numbers of every clip of a recording, in order (clips verified on the way)."""
    state = json.loads((rec_dir / "recording.json").read_text())
    assert state["state"] == "closed"
    key = public_b64(load_or_create(rec_dir.parent.parent / "keys" / "device.key"))
    frames = []
    for clip in state["clips"]:
        path = rec_dir / clip["object"]
        assert sha256_file(path) == clip["sha256"]
        verdict = mf.verify((rec_dir / clip["manifest"]).read_bytes(), key, clip_sha256=clip["sha256"],
                            clip_object=clip["object"], clip_size=path.stat().st_size)
        assert verdict.valid, verdict.reason
        with av.open(str(path)) as c:
            frames += [read_barcode(f) for f in c.decode(video=0)]
    return frames


def test_camera_streams_while_recording_supervisor_watches_network_drop_leaves_recording_whole(tmp_path):
    server, cam = start_site(tmp_path, [[59.3300, 18.0600], [59.3400, 18.0800]])
    cam_dir = cam.storage
    try:
        sgt = http_sign_in(server, "sgt.live")
        sid = wait_for(lambda: session_id_of(sgt, server.url), what="the camera is on the air")
        row = onair(sgt, server)[0]
        assert row["officer"] == "Officer Live" and row["trigger_label"] == "record button"
        assert row["position"]["lat"] == pytest.approx(59.33, abs=1e-3)  # the start position
        # positions every 2 s (this camera's setting; 10 s by default) make a trail
        wait_for(lambda: len(onair(sgt, server)[0]["trail"]) >= 3, what="positions arrive")
        wait_for(lambda: onair(sgt, server)[0]["video"], what="the camera publishes video")

        viewer = Viewer(sgt, server.url, sid)
        assert viewer.start() == 201
        wait_for(lambda: len(viewer.frames) >= 20, what="the viewer decodes frames")
        seen = list(viewer.frames)
        assert seen == sorted(seen) and seen[-1] - seen[0] >= 10, seen  # the camera's frames, in order
        rows = server.audit_rows("action = 'live.watch' AND actor = 'sgt.live' AND outcome = 'ok'")
        assert len(rows) == 1 and rows[0][2] == sid

        # others may not watch: refused, and the refusal audited
        others = {who: http_sign_in(server, who) for who in ("sgt.south", "cust.live")}
        for who, other in others.items():
            assert Viewer(other, server.url, sid).start() == 403, who
            assert other.get(f"{server.url}/live/{sid}/", timeout=30).status_code == 403
            assert server.audit_rows("action = 'live.watch' AND actor = ? AND outcome = 'denied'", who)
        assert others["cust.live"].get(server.url + "/live/", timeout=30).status_code == 403
        assert others["sgt.south"].get(server.url + "/live/onair.json", timeout=30).json() == {"sessions": []}
        assert server.audit_rows("action = 'live.onair.view' AND actor = 'cust.live' AND outcome = 'denied'")

        # watch me: highlighted for the supervisor
        cam.ctl("watchme")
        wait_for(lambda: onair(sgt, server)[0]["watchme_at"], what="the watch-me request")
        assert server.audit_rows("action = 'live.watchme'")

        # the network path dies: the server (and its relay) stops mid-stream, then comes back
        server.stop()
        viewer.close()
        time.sleep(4)
        server.start()
        wait_for(lambda: len(cam.events("live.publishing")) >= 2, timeout=120, what="the camera publishes again")
        wait_for(lambda: onair(sgt, server)[0]["video"], timeout=60, what="the server has the video again")
        again = Viewer(sgt, server.url, sid)
        assert again.start() == 201
        wait_for(lambda: len(again.frames) >= 10, what="frames flow again")
        assert again.frames[0] > seen[-1]

        # stopping the recording ends the stream
        cam.ctl("stop")
        assert again.ended.wait(60), "the viewer's stream did not end with the recording"
        wait_for(lambda: not onair(sgt, server), what="off the air")
        assert Viewer(sgt, server.url, sid).start() == 409  # nothing left to watch
        ends = server.audit_rows("action = 'live.watch.end' AND actor = 'sgt.live'")
        assert ends and all(json.loads(d)["to"] >= json.loads(d)["from"] for *_, d in ends)
        again.close()
    finally:
        cam.stop()
        server.stop()
    # The recording is whole: every frame from the start to the stop, across the outage, in
    # signed clips whose hashes verify.
    rec_dirs = [d for d in (cam_dir / "recordings").iterdir() if d.is_dir()]
    assert len(rec_dirs) == 1
    frames = recorded_frames(rec_dirs[0])
    assert frames == list(range(frames[0], frames[0] + len(frames))), "a frame is missing or repeated"
    assert frames[-1] > again.frames[-1]
    assert cam.events("recording.stop")[0]["trigger"] == "Button"
