"""The dock over HTTPS and through a faulty network path: it checks the server certificate
from the connection file, and frees nothing unless the server's own hashes match."""

import json

from bodycam.device.storage import read_json

from .device.helpers import recordings
from .device.proxy import Relay, self_signed
from .test_dock import journal, make_camera, server_clips


def _dock(live, storage, conn_path, check_rc=None):
    res = live.cli("dock", "--storage", str(storage.root), "--connection-file", str(conn_path), "--json", check=False)
    if check_rc is not None:
        assert res.returncode == check_rc, res.stdout + res.stderr
    return res


def test_dock_over_https_checks_the_certificate(live, tmp_path):
    storage = make_camera(live, tmp_path, "T1", [{"t": 1, "action": "record"}, {"t": 6, "action": "stop"}],
                          duration=7, buffer_seconds=0)
    (rec,) = recordings(storage)
    cert, key, der = self_signed(tmp_path)
    conn = live.connection()
    with Relay(live.url, tls=(cert, key)) as relay:
        # No certificate in the connection file: the self-signed server is not trusted.
        untrusted = tmp_path / "untrusted.json"
        untrusted.write_text(json.dumps(relay.connection(conn)))
        res = _dock(live, storage, untrusted)
        assert res.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in res.stdout + res.stderr
        assert all((rec["dir"] / c["object"]).exists() for c in rec["clips"])
        # With the server's certificate, as the spec's HTTPSCertificate field carries it.
        trusted = tmp_path / "trusted.json"
        trusted.write_text(json.dumps(relay.connection(conn, der)))
        res = _dock(live, storage, trusted, check_rc=0)
        assert json.loads(res.stdout)["uploaded"] == [rec["container"]]
    assert not rec["dir"].exists()
    assert {c["object"] for c in rec["clips"]} == {o for (_, o) in server_clips(live)}


def test_dock_frees_nothing_when_bytes_or_hashes_do_not_match(live, tmp_path):
    storage = make_camera(live, tmp_path, "T2", [{"t": 1, "action": "record"}, {"t": 6, "action": "stop"}],
                          duration=7, buffer_seconds=0)
    (rec,) = recordings(storage)
    conn = live.connection()
    # A byte flipped on the way: the server sees an MD5 other than the ETag and refuses (422).
    with Relay(live.url, mode="flip") as relay:
        path = tmp_path / "flip.json"
        path.write_text(json.dumps(relay.connection(conn)))
        res = _dock(live, storage, path)
        assert res.returncode == 1
    assert server_clips(live) == {}
    puts = [e for e in journal(storage) if e["event"] == "object.put"]
    assert puts and puts[0]["status"] == 422
    # A server (or path) that reports a hash other than ours: not confirmed, not freed.
    with Relay(live.url, mode="lie") as relay:
        path = tmp_path / "lie.json"
        path.write_text(json.dumps(relay.connection(conn)))
        res = _dock(live, storage, path)
        assert res.returncode == 1 and "differ from ours" in res.stdout
    assert all((rec["dir"] / c["object"]).exists() for c in rec["clips"])
    assert not any(e["event"] == "object.freed" for e in journal(storage))
    assert not any(v.get("confirmed") for v in read_json(rec["dir"] / "upload.json")["objects"].values())
    # The honest path completes; the clip the liar's run sent is found by HEAD, not sent again.
    path = tmp_path / "direct.json"
    path.write_text(json.dumps(conn))
    _dock(live, storage, path, check_rc=0)
    assert not rec["dir"].exists()
    assert {o: c["sha256"] for (_, o), c in server_clips(live).items()} == {c["object"]: c["sha256"] for c in rec["clips"]}
    first = rec["clips"][0]["object"]
    assert [e["status"] for e in journal(storage) if e["event"] == "object.put" and e["object"] == first] == [422, 201]
    assert any(e["event"] == "object.head" and e["object"] == first and e["status"] == 200 for e in journal(storage))
