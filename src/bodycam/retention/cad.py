"""Dispatch (CAD) incidents: import from CSV/JSON (file or HTTP endpoint), link recordings
automatically by officer badge or vehicle unit and time overlap, suggest a category from
the call type. A whole import is validated before anything is written.

The file format is ``COLUMNS`` (below): the parser reads exactly these, the import page
explains them from it and the sample file (``sample_csv``) is written from it, so the three
cannot drift apart. CSV: a header row naming the columns (extra columns are ignored);
``badges`` and ``units`` separated by ``;``. JSON: a list of objects with the same keys
(``badges``/``units`` as lists; ``number`` and ``officers`` are accepted as aliases), or
``{"incidents": [...]}``. Times are ISO 8601 with a zone (``Z`` or ``+hh:mm``).

Bad rows: every row is checked and every bad one reported (``CadRowErrors``: its row, and its
line in a CSV file); one bad row refuses the whole file and nothing is imported.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.db import transaction
from django.db.models import Q

from ..custody.services import record
from ..errors import BodycamError
from ..evidence.models import Category, Device, Officer, Recording
from . import policy as pol
from .models import CadIncident, CadLink

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000
MAX_ROW_ERRORS = 200  # reported; the count says how many more
DEFAULT_DURATION = timedelta(hours=1)  # an incident without a clear time


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "number" (1-64 chars), "text" (call type: 1-100, upper-cased), "time", "list", "place"
    required: bool
    help: str
    example: str  # the sample file's first row
    example2: str = ""  # its second row
    alias: str = ""  # the other key JSON may use


COLUMNS = (
    Column("incident_number", "number", True, "the dispatch system's incident number, 1-64 characters; "
           "an incident imported again is updated", "26-000123", "26-000124", alias="number"),
    Column("call_type", "text", True, "the call type as dispatch names it (stored in capitals); it decides "
           "the suggested category and whether compliance requires a recording", "TRAFFIC STOP", "DISTURBANCE"),
    Column("received_at", "time", True, "when the call came in", "2026-03-02T06:01:10Z", "2026-03-02T14:30:00-08:00"),
    Column("dispatched_at", "time", False, "when units were sent", "2026-03-02T06:02:00Z", ""),
    Column("arrived_at", "time", False, "when the first unit arrived (late-activation checks count from here)",
           "2026-03-02T06:09:30Z", "2026-03-02T14:41:05-08:00"),
    Column("cleared_at", "time", False, "when the incident was cleared; empty: arrival + 1 hour",
           "2026-03-02T06:40:00Z", ""),
    Column("location", "place", False, "free text, at most 200 characters", "1200 Main St", "Elm Park"),
    Column("badges", "list", False, "officers' badge numbers (the camera's user id), separated by ;",
           "4127;3318", "5120", alias="officers"),
    Column("units", "list", False, "vehicle units (in-car camera serial or name), separated by ;", "Unit 7", ""),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
TIME_FORMAT = ("ISO 8601 with a time zone: 2026-03-02T06:01:10Z (UTC) or 2026-03-02T14:30:00-08:00; "
               "a time without a zone is refused")


class CadError(BodycamError, ValueError):
    """A bad import (file, row, endpoint) or link request; nothing was changed."""

    status = 400


class CadRowErrors(CadError):
    """Rows of a file that cannot be imported: ``rows`` is ``[(row, line or None, message)]``
    (the first ``MAX_ROW_ERRORS``), ``total`` how many. Nothing was imported."""

    def __init__(self, rows: list[tuple], total: int):
        self.rows, self.total = rows, total
        more = f"\n... and {total - len(rows)} more" if total > len(rows) else ""
        super().__init__(f"{total} bad row{'s' if total != 1 else ''}, nothing was imported:\n"
                         + "\n".join(row_text(r) for r in rows) + more)


def row_text(err: tuple) -> str:
    row, line, message = err
    return f"row {row}{f' (line {line})' if line else ''}: {message}"


class _Bad(BodycamError):
    """One field of one row (collected by ``parse_rows``)."""


def _time(value, field: str, required: bool = False) -> datetime | None:
    if value in (None, ""):
        if required:
            raise _Bad(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise _Bad(f"{field} must be an ISO 8601 time")
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(f"{field} {value!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise _Bad(f"{field} {value!r} has no time zone")
    return dt.astimezone(timezone.utc)


def _list(value, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(",", ";").split(";")]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise _Bad(f"{field} must be a list of ids")
    out = [str(v).strip() for v in value if str(v).strip()]
    if any(len(v) > 32 for v in out):
        raise _Bad(f"{field} entries are at most 32 characters")
    return out


def _field(col: Column, r: dict):
    value = r.get(col.name)
    if value in (None, "") and col.alias:
        value = r.get(col.alias)
    if col.kind == "time":
        return _time(value, col.name, required=col.required)
    if col.kind == "list":
        return _list(value, col.name)
    text = str(value if value is not None else "").strip()
    if col.kind == "place":
        return text[:200]
    limit = 64 if col.kind == "number" else 100
    if not text or len(text) > limit:
        raise _Bad(f"{col.name} is required (1-{limit} characters)")
    return text.upper() if col.kind == "text" else text


def _parse_incident(r, seen: set) -> dict:
    if not isinstance(r, dict):
        raise _Bad("an incident must be an object")
    values, problems = {}, []
    for col in COLUMNS:
        try:
            values[col.name] = _field(col, r)
        except _Bad as exc:
            problems.append(str(exc))
    if not problems and values["cleared_at"] and values["cleared_at"] < values["received_at"]:
        problems.append("cleared_at is before received_at")
    number = values.get("incident_number")
    if number and number in seen:
        problems.append(f"incident {number} appears twice")
    if problems:
        raise _Bad("; ".join(problems))
    seen.add(number)
    values["number"] = values.pop("incident_number")
    return values


def parse_rows(rows, lines: list | None = None) -> list[dict]:
    """Every row checked; any bad one refuses them all (``CadRowErrors`` lists each).
    ``lines``: each row's line in the file (CSV) for the report."""
    out, errors, seen = [], [], set()
    if len(rows) > MAX_ROWS:
        raise CadError(f"more than {MAX_ROWS} incidents in one import")
    for i, r in enumerate(rows, start=1):
        try:
            out.append(_parse_incident(r, seen))
        except _Bad as exc:
            errors.append((i, lines[i - 1] if lines else None, str(exc)))
    if errors:
        raise CadRowErrors(errors[:MAX_ROW_ERRORS], len(errors))
    return out


def parse_bytes(data: bytes, fmt: str | None = None) -> list[dict]:
    if len(data) > MAX_BYTES:
        raise CadError("CAD file is larger than 50 MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CadError("CAD file is not UTF-8 text") from None
    fmt = fmt or ("json" if text.lstrip()[:1] in "[{" else "csv")
    if fmt == "json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise CadError(f"not valid JSON: {exc}") from None
        if isinstance(doc, dict):
            doc = doc.get("incidents")
        if not isinstance(doc, list):
            raise CadError("JSON must be a list of incidents or {\"incidents\": [...]}")
        return parse_rows(doc)
    if fmt != "csv":
        raise CadError("format must be csv or json")
    reader = csv.DictReader(io.StringIO(text))
    needed = [c.name for c in COLUMNS if c.required]
    if not reader.fieldnames or not set(needed) <= set(reader.fieldnames):
        raise CadError(f"CSV needs a header row with at least {', '.join(needed)}")
    rows, lines = [], []
    try:
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as exc:
        raise CadError(f"bad CSV at line {reader.line_num}: {exc}") from None
    return parse_rows(rows, lines)


def sample_csv() -> bytes:
    """The sample file the import page offers, written from ``COLUMNS``: it imports as is."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(COLUMN_NAMES)
    w.writerow([c.example for c in COLUMNS])
    w.writerow([c.example2 for c in COLUMNS])
    return out.getvalue().encode()


def fetch(url: str, timeout: float = 30) -> tuple[bytes, str | None]:
    """GET the dispatch system's export. Only http(s)."""
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise CadError("the CAD endpoint must be an http:// or https:// URL")
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json, text/csv"}),
                                    timeout=timeout) as resp:
            data = resp.read(MAX_BYTES + 1)
            ctype = resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise CadError(f"CAD endpoint answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise CadError(f"cannot reach CAD endpoint: {getattr(exc, 'reason', exc)}") from None
    fmt = "json" if "json" in ctype else "csv" if "csv" in ctype else None
    return data, fmt


def import_incidents(data: bytes, fmt: str | None = None, source: str = "", actor: str = "cli") -> dict:
    """Validate, upsert by incident number, then link recordings. One audit entry for the
    import, one per link made."""
    incidents = parse_bytes(data, fmt)
    created = updated = 0
    with transaction.atomic():
        existing = {i.number: i for i in CadIncident.objects.filter(number__in=[x["number"] for x in incidents])}
        rows = []
        for inc in incidents:
            obj = existing.get(inc["number"])
            if obj is None:
                rows.append(CadIncident(source=source[:200], **inc))
                created += 1
            else:
                for k, v in inc.items():
                    setattr(obj, k, v)
                obj.source = source[:200]
                obj.save()
                updated += 1
        CadIncident.objects.bulk_create(rows, batch_size=500)
        record("cad.import", actor=actor, object_type="cad", detail={
            "source": source[:200], "incidents": len(incidents), "created": created, "updated": updated})
        linked = link_incidents(CadIncident.objects.filter(number__in=[x["number"] for x in incidents]), actor)
    return {"incidents": len(incidents), "created": created, "updated": updated, "links": linked}


def incident_window(inc: CadIncident, slack: timedelta) -> tuple[datetime, datetime]:
    start = min(t for t in (inc.received_at, inc.dispatched_at) if t)
    end = inc.cleared_at or (inc.arrived_at or inc.dispatched_at or inc.received_at) + DEFAULT_DURATION
    return start - slack, end + slack


def _badge_map() -> dict[str, list]:
    """badge -> officer ids (the Axis UserID, or the linked account's badge)."""
    out: dict[str, list] = {}
    for oid, key, badge in Officer.objects.values_list("id", "user_key", "account__badge"):
        for b in {key, badge} - {"", None}:
            out.setdefault(str(b).strip(), []).append(oid)
    return out


def _unit_map() -> dict[str, list]:
    out: dict[str, list] = {}
    for did, serial, name in Device.objects.filter(kind=Device.Kind.VEHICLE).values_list("id", "serial", "name"):
        for u in {serial, name} - {"", None}:
            out.setdefault(u, []).append(did)
    return out


def link_incidents(incidents, actor: str = "cad") -> int:
    """Link each incident to recordings of its officers/vehicles that overlap it in time.
    A link removed by hand is never re-added automatically."""
    settings_row = pol.settings_row()
    slack = timedelta(seconds=settings_row.link_slack_s)
    mapping = settings_row.call_type_categories or {}
    cats = {c.name: c for c in Category.objects.filter(name__in=set(mapping.values()))}
    badges, units = _badge_map(), _unit_map()
    made = 0
    for inc in incidents:
        lo, hi = incident_window(inc, slack)
        officers = [o for b in inc.badges for o in badges.get(b, [])]
        devices = [d for u in inc.units for d in units.get(u, [])]
        if not officers and not devices:
            continue
        # Overlap: the recording starts before the window ends and ends after it starts.
        recs = (Recording.objects.filter(Q(officer_id__in=officers) | Q(device_id__in=devices))
                .filter(trigger_on_time__lte=hi)
                .filter(Q(trigger_off_time__gte=lo) | Q(stop_time__gte=lo) |
                        Q(trigger_off_time__isnull=True, stop_time__isnull=True, trigger_on_time__gte=lo))
                .exclude(cad_links__incident=inc))
        cat_name = mapping.get(inc.call_type, "")
        for rec in recs:
            by = "badge" if rec.officer_id in officers else "unit"
            CadLink.objects.create(incident=inc, recording=rec, method=CadLink.Method.AUTO, matched_by=by,
                                   suggested_category=cat_name, created_by=actor[:150],
                                   created_at=datetime.now(timezone.utc))
            added = ""
            if cat_name in cats and not rec.categories.filter(pk=cats[cat_name].pk).exists():
                rec.categories.add(cats[cat_name])  # adding only lengthens retention (longest wins)
                added = cat_name
            record("cad.link", actor=actor, object_type="recording", object_id=str(rec.id), detail={
                "incident": inc.number, "call_type": inc.call_type, "method": "auto", "matched_by": by,
                "category_added": added})
            made += 1
    return made


def _incident(number: str) -> CadIncident:
    inc = CadIncident.objects.filter(number=number).first()
    if inc is None:
        raise CadError(f"no CAD incident {number!r}")
    return inc


def link_manual(number: str, recording_key: str, actor: str, source: str = "") -> CadLink:
    from .services import RetentionError, _recording

    inc = _incident(number)
    try:
        rec = _recording(recording_key)
    except RetentionError as exc:
        raise CadError(str(exc)) from None
    with transaction.atomic():
        link = CadLink.objects.filter(incident=inc, recording=rec).first()
        if link and not link.removed_at:
            raise CadError(f"{rec.container_name} is already linked to {number}")
        if link:
            link.removed_at, link.removed_by, link.method, link.matched_by = None, "", CadLink.Method.MANUAL, "manual"
            link.save()
        else:
            link = CadLink.objects.create(incident=inc, recording=rec, method=CadLink.Method.MANUAL,
                                          matched_by="manual", created_by=actor[:150],
                                          created_at=datetime.now(timezone.utc))
        record("cad.link", actor=actor, source=source, object_type="recording", object_id=str(rec.id),
               detail={"incident": number, "method": "manual", "override": True})
    return link


def unlink(number: str, recording_key: str, actor: str, reason: str, source: str = "") -> CadLink:
    from .services import RetentionError, _recording

    if not reason.strip():
        raise CadError("a reason is required to remove a link")
    inc = _incident(number)
    try:
        rec = _recording(recording_key)
    except RetentionError as exc:
        raise CadError(str(exc)) from None
    link = CadLink.objects.filter(incident=inc, recording=rec, removed_at__isnull=True).first()
    if link is None:
        raise CadError(f"{rec.container_name} is not linked to {number}")
    with transaction.atomic():
        link.removed_at, link.removed_by = datetime.now(timezone.utc), actor[:150]
        link.save(update_fields=["removed_at", "removed_by"])
        record("cad.unlink", actor=actor, source=source, object_type="recording", object_id=str(rec.id),
               detail={"incident": number, "reason": reason, "override": True, "was": link.method})
    return link


def incident_dict(inc: CadIncident) -> dict:
    from ..timefmt import iso_seconds

    return {"number": inc.number, "call_type": inc.call_type, "received_at": iso_seconds(inc.received_at),
            "dispatched_at": iso_seconds(inc.dispatched_at), "arrived_at": iso_seconds(inc.arrived_at),
            "cleared_at": iso_seconds(inc.cleared_at), "location": inc.location, "badges": inc.badges, "units": inc.units,
            "recordings": [{"recording": str(lk.recording_id), "container": lk.recording.container_name,
                            "evidence_number": lk.recording.evidence_number or "",
                            "method": lk.method, "matched_by": lk.matched_by}
                           # links.all(): the page prefetches links and their recordings for 200 rows
                           for lk in inc.links.all() if lk.removed_at is None]}
