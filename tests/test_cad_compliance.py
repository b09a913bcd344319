"""Dispatch (CAD) import and linking, activation compliance, storage report.

A seeded generator makes a few hundred incidents over several shifts for twelve officers
in three squads and the recordings those officers made (on time, late, or not at all, plus
stray recordings that belong to no incident). The CSV half is imported from a file, the
JSON half from a real HTTP server on 127.0.0.1. Links must land exactly where the
generator put them, and the compliance report must name exactly the missed incidents."""

import csv
import json
import random
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bodycam.access.models import Role, Squad, User
from bodycam.cli import main
from bodycam.custody.models import AuditEntry
from bodycam.evidence.defaults import ensure_default_categories
from bodycam.evidence.models import Officer, Recording
from bodycam.retention import policy as pol
from bodycam.retention.models import CadIncident, CadLink
from bodycam.retention.reports import compliance, storage

from .retention_helpers import device, row, utc

pytestmark = pytest.mark.django_db

REQUIRED = ["TRAFFIC STOP", "911 DISTURBANCE", "PROBATION SEARCH", "PEDESTRIAN CHECK"]
OTHER = ["ALARM", "PARKING", "REPORT"]
BASE = utc(2026, 3, 2, 6, 0, 0)
SLOT = timedelta(minutes=90)


def iso(dt):
    return dt.isoformat().replace("+00:00", "Z") if dt else ""


def simulate(seed: int = 2026, slots: int = 75):
    """Incidents, the recordings made for them, and the truth the report must find."""
    rng = random.Random(seed)
    squads = [Squad.objects.create(name=n) for n in ("Adam", "Boy", "Charles")]
    officers = {}
    for i in range(12):
        badge = f"B{100 + i}"
        u = User.objects.create(username=f"p{badge}", role=Role.OFFICER, badge=badge, squad=squads[i % 3])
        officers[badge] = Officer.objects.create(axis_user_id=__import__("uuid").uuid4(), name=f"Officer {i}",
                                                 user_key=badge, account=u)
    cams = {b: device(f"BWC-{b}") for b in officers}
    car = device("CAR-7", kind="vehicle", name="Unit 7")
    incidents, truth = [], {"missed": set(), "late": set(), "links": {}, "stray": [], "by_badge": {}}
    n = 0
    for k in range(slots):
        start = BASE + k * SLOT
        free = list(officers)
        rng.shuffle(free)
        car_used = False  # one vehicle: at most one incident of a slot
        for _ in range(4):
            n += 1
            crew = [free.pop() for _ in range(rng.choice([1, 1, 2]))]
            received = start + timedelta(seconds=rng.randint(0, 600))
            dispatched = received + timedelta(seconds=rng.randint(30, 300))
            arrived = dispatched + timedelta(seconds=rng.randint(120, 900))
            cleared = arrived + timedelta(seconds=rng.randint(900, 2400))
            ctype = rng.choice(REQUIRED + OTHER)
            number = f"26-{n:06d}"
            units = ["Unit 7"] if rng.random() < 0.1 and not car_used else []
            car_used = car_used or bool(units)
            badges = crew + (["B999"] if rng.random() < 0.03 else [])  # a badge the system does not know
            incidents.append({"incident_number": number, "call_type": ctype, "received_at": iso(received),
                              "dispatched_at": iso(dispatched), "arrived_at": iso(arrived), "cleared_at": iso(cleared),
                              "location": f"{rng.randint(1, 9999)} Main St", "badges": badges, "units": units})
            for b in crew:
                roll = rng.random()
                if roll < 0.15:
                    if ctype in REQUIRED:
                        truth["missed"].add(number)
                        truth["by_badge"].setdefault(b, {"missed": [], "late": []})["missed"].append(number)
                    continue
                late = roll > 0.88
                on = arrived + timedelta(seconds=rng.randint(200, 600) if late else -rng.randint(0, 90))
                rec = row(officers[b], cams[b], on, seconds=(cleared - on).total_seconds() - rng.randint(0, 300))
                truth["links"][rec.id] = number
                if late and ctype in REQUIRED:
                    truth["late"].add(number)
                    truth["by_badge"].setdefault(b, {"missed": [], "late": []})["late"].append(number)
            if units:
                rec = row(officers[crew[0]], car, arrived, seconds=600)
                truth["links"][rec.id] = number
        for b in free[:2]:  # stray recordings: officers with no incident in this slot
            rec = row(officers[b], cams[b], start + timedelta(minutes=30), seconds=120)
            truth["stray"].append(rec.id)
    return incidents, truth, officers


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow(r | {"badges": ";".join(r["badges"]), "units": ";".join(r["units"])})


class _Feed(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802
        if self.path != "/cad/export.json":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a):
        pass


def test_cad_import_links_and_compliance_names_exactly_the_missed(tmp_path, capsys):
    ensure_default_categories()
    pol.apply(pol.parse({"call_type_categories": {"TRAFFIC STOP": "Traffic stop", "PEDESTRIAN CHECK": "Pedestrian check"},
                         "compliance": {"required_call_types": REQUIRED, "late_activation_s": 120,
                                        "review_sample_size": 6}}))
    incidents, truth, officers = simulate()
    assert len(incidents) == 300 and truth["missed"] and truth["late"]

    # Bad input: the whole file is refused, nothing imported.
    bad = tmp_path / "bad.csv"
    write_csv(bad, incidents[:5])
    text = bad.read_text().splitlines()
    text[3] = text[3].replace("Z,", ",", 1)  # a time without a zone on row 3
    bad.write_text("\n".join(text))
    assert main(["cad", "import", str(bad)]) == 2
    assert "row 3" in capsys.readouterr().err and not CadIncident.objects.exists()

    # Half from a CSV file, half as JSON from the dispatch system's HTTP endpoint.
    good = tmp_path / "cad.csv"
    write_csv(good, incidents[:150])
    assert main(["cad", "import", str(good)]) == 0
    _Feed.body = json.dumps({"incidents": incidents[150:]}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/cad/export.json"
        assert main(["cad", "import", "--url", url]) == 0
        assert "150 incident(s)" in capsys.readouterr().out
        assert main(["cad", "import", "--url", url.replace("export", "nothing")]) == 2
        assert "404" in capsys.readouterr().err
    finally:
        server.shutdown()
    assert CadIncident.objects.count() == 300

    # Every generated recording is linked to exactly its incident; strays to nothing.
    got = {}
    for rid, number in CadLink.objects.filter(removed_at__isnull=True).values_list("recording_id",
                                                                                  "incident__number"):
        assert rid not in got, "a recording linked to two incidents"
        got[rid] = number
    assert got == truth["links"]
    assert not CadLink.objects.filter(recording_id__in=truth["stray"]).exists()
    # The call type suggested a category (added: retention only lengthens).
    ts = CadLink.objects.filter(incident__call_type="TRAFFIC STOP").select_related("recording").first()
    assert list(ts.recording.categories.values_list("name", flat=True)) == ["Traffic stop"]

    start, end = BASE - timedelta(days=1), BASE + timedelta(days=10)
    rep = compliance(start, end, seed=7)
    assert set(rep["missed_incidents"]) == truth["missed"]
    for r in rep["officers"]:
        exp = truth["by_badge"].get(r["badge"], {"missed": [], "late": []})
        assert r["missed"] == exp["missed"] and r["late"] == exp["late"], r["badge"]
    assert rep["totals"]["missed"] == sum(len(v["missed"]) for v in truth["by_badge"].values())
    assert "B999" in rep["unknown_badges"]
    assert rep["totals"]["uncategorized"] > 0 and len(rep["squads"]) == 3
    assert rep["review_sample"] == compliance(start, end, seed=7)["review_sample"]  # reproducible
    assert len(rep["review_sample"]["recordings"]) == 6

    # A supervisor's report covers only the squads they supervise.
    sgt = User.objects.create(username="sgt", role=Role.SUPERVISOR)
    Squad.objects.get(name="Boy").supervisors.add(sgt)
    mine = compliance(start, end, user=sgt)
    assert {r["squad"] for r in mine["officers"]} == {"Boy"} and mine["unknown_badges"] == {}

    # Manual override: unlinking is audited, makes the contact missed, and a re-import keeps it.
    rid, number = next((r, nb) for r, nb in truth["links"].items()
                       if nb not in truth["missed"] and CadIncident.objects.get(number=nb).call_type in REQUIRED
                       and Recording.objects.get(pk=r).device.kind == "body"
                       and len(CadIncident.objects.get(number=nb).badges) == 1)
    assert main(["cad", "unlink", number, str(rid), "--reason", " "]) == 2  # a reason is required
    assert "reason" in capsys.readouterr().err
    assert main(["cad", "unlink", number, str(rid), "--reason", "wrong call"]) == 0
    assert AuditEntry.objects.filter(action="cad.unlink", detail__incident=number).exists()
    capsys.readouterr()
    assert main(["cad", "show", number]) == 0
    assert str(rid) not in capsys.readouterr().out  # a removed link is no longer listed
    assert number in compliance(start, end)["missed_incidents"]
    assert main(["cad", "import", str(good)]) == 0
    assert number in compliance(start, end)["missed_incidents"]
    assert main(["cad", "link", number, str(rid)]) == 0
    assert number not in compliance(start, end)["missed_incidents"]
    capsys.readouterr()
    assert main(["compliance", "--from", "2026-03-01", "--to", "2026-03-12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["missed_incidents"]) == truth["missed"]

    # Storage: bytes and hours by category/officer/device/month, projected cost.
    st = storage(price=20.0)
    n = Recording.objects.count()
    assert st["originals_bytes"] == n * 1_000_000 and sum(r["bytes"] for r in st["by_officer"]) == n * 1_000_000
    assert {r["key"] for r in st["by_month"]} == {"2026-03"}
    assert {r["key"] for r in st["by_category"]} >= {"Traffic stop", "Uncategorized"}
    assert st["projected_annual_cost"] >= 12 * st["monthly_cost_now"] > 0
    assert main(["storage", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["originals_bytes"] == n * 1_000_000
