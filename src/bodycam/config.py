"""Every ``BODYCAM_*`` environment variable, declared once: name, type, default, range, help.

``load()`` reads the environment into a ``Config`` (typed values and where each came from);
``bodycam/settings.py`` turns it into Django settings, ``bodycam config show`` prints it and
``bodycam config docs`` writes docs/settings.md from ``SETTINGS``. Any problem is one
``SettingError`` naming the variable and the reason (the CLI prints that line, exit 2):

* a value that does not parse as its type or lies outside its range;
* a ``BODYCAM_*`` name that is not declared here (with the closest declared name);
* booleans take 1/0, true/false, yes/no (any case) and nothing else;
* an empty value means "not set": the default applies (except where ``empty_is_value``).

Device-side (camera, dock) and test-tool variables are declared here too, so a server that
shares their environment does not refuse them. Pure Python: no Django, no app.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .errors import CliError

PREFIX = "BODYCAM_"
TRUE = ("1", "true", "yes")
FALSE = ("0", "false", "no")
MASK = "********"
KINDS = ("int", "float", "bool", "str", "path", "url", "enum", "list")


class SettingError(CliError, ValueError):
    """A bad or unknown ``BODYCAM_*`` variable: one line naming it (CLI exit status 2)."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str
    default: object  # a value, or a callable of the values read before it (a derived default)
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()  # enum: allowed values (matched without case)
    schemes: tuple[str, ...] = ()  # url: allowed schemes (empty: any)
    secret: bool = False  # masked by `bodycam config show`
    used_by: str = "server"  # server | device | tests
    default_doc: str = ""  # how the reference shows a derived default
    empty_is_value: bool = False  # an empty value is kept as "" (else it means "not set")

    def parse(self, raw: str) -> object:
        """The typed value of a non-empty environment string; SettingError otherwise."""
        text = raw.strip()
        value = _PARSERS[self.kind](self, text)
        if self.kind in ("int", "float"):
            if self.min is not None and value < self.min:
                raise SettingError(f"{self.name} must be at least {_num(self.min)} (got {text})")
            if self.max is not None and value > self.max:
                raise SettingError(f"{self.name} must be at most {_num(self.max)} (got {text})")
        return value

    def shown(self, value: object) -> str:
        """The value as `config show` prints it: secrets masked, URL passwords masked."""
        if value in ("", None):
            return ""
        if self.secret:
            return MASK
        if self.kind == "bool":
            return "yes" if value else "no"
        if self.kind == "list":
            return ",".join(value)
        if self.kind == "url":
            return _mask_password(str(value))
        return str(value)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _int(s: Setting, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SettingError(f"{s.name} must be a whole number (got {text!r})") from None


def _float(s: Setting, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"{s.name} must be a number (got {text!r})") from None
    if not math.isfinite(value):
        raise SettingError(f"{s.name} must be a finite number (got {text!r})")
    return value


def _bool(s: Setting, text: str) -> bool:
    low = text.lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    raise SettingError(f"{s.name} must be 1/0, true/false or yes/no (got {text!r})")


def _enum(s: Setting, text: str) -> str:
    for choice in s.choices:
        if text.lower() == choice.lower():
            return choice
    raise SettingError(f"{s.name} must be one of {', '.join(s.choices)} (got {text!r})")


_HOST_SCHEMES = ("http", "https", "redis", "rediss", "s3", "amqp", "amqps")


def _url(s: Setting, text: str) -> str:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise SettingError(f"{s.name} is not a URL (got {_mask_password(text)!r})") from None
    want = " or ".join(f"{scheme}://" for scheme in s.schemes) or "scheme://"
    want = ("an " if want[0] in "aeiouh" else "a ") + want
    if "://" not in text or (s.schemes and parts.scheme not in s.schemes):
        raise SettingError(f"{s.name} must be {want} URL (got {_mask_password(text)!r})")
    if parts.scheme in _HOST_SCHEMES and not parts.hostname:
        raise SettingError(f"{s.name} must be {want} URL with a host (got {_mask_password(text)!r})")
    return text


def _list(s: Setting, text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


_PARSERS: dict[str, Callable[[Setting, str], object]] = {
    "int": _int, "float": _float, "bool": _bool, "str": lambda s, t: t, "path": lambda s, t: t,
    "url": _url, "enum": _enum, "list": _list,
}


def _mask_password(url: str) -> str:
    try:
        parts = urlsplit(url)
        if not parts.password:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return url


DAY = 24 * 3600
BANNER = (
    "You are accessing a law-enforcement information system. Use is restricted to authorized users "
    "for official purposes. All activity is monitored, recorded and audited; unauthorized use may "
    "result in disciplinary action and criminal prosecution. By continuing you consent to this monitoring.")


def _data_dir(values: Mapping[str, object]) -> Path:
    return Path(str(values["BODYCAM_DATA_DIR"]))


# One line each; the order is the order of docs/settings.md and `bodycam config show`.
SETTINGS: tuple[Setting, ...] = (
    # Where things are
    Setting("BODYCAM_DATA_DIR", "path", "./var", "data directory: SQLite database, keys/, objects/ (made absolute)"),
    Setting("BODYCAM_DATABASE_URL", "url",
            lambda v: f"sqlite:///{_data_dir(v).resolve() / 'bodycam.sqlite3'}",
            "catalogue database: sqlite:///path or postgresql://user:pass@host:port/db",
            schemes=("sqlite", "postgres", "postgresql"), default_doc="SQLite in the data dir"),
    Setting("BODYCAM_SECRET_KEY", "str", "", "Django secret; empty: generated once into keys/secret_key",
            secret=True),
    Setting("BODYCAM_STORAGE_URL", "url", "", "blob store: s3://bucket/prefix or file:///path; empty: <data dir>/objects",
            schemes=("s3", "file")),
    Setting("BODYCAM_S3_ENDPOINT_URL", "url", "", "S3 endpoint (MinIO, Ceph...); empty: AWS",
            schemes=("http", "https")),
    Setting("BODYCAM_S3_REGION", "str", "us-east-1", "S3 region"),
    Setting("BODYCAM_S3_ACCESS_KEY_ID", "str", "", "S3 access key id; empty: the AWS default chain", secret=True),
    Setting("BODYCAM_S3_SECRET_ACCESS_KEY", "str", "", "S3 secret access key", secret=True),
    Setting("BODYCAM_S3_PART_MB", "int", 8, "multipart part size in MiB (memory per upload is about 3 parts)",
            min=1, max=5120),
    Setting("BODYCAM_S3_RETENTION_DAYS", "int", 365,
            "Object Lock compliance retention (days) set on every blob when the bucket has Object Lock; 0: none",
            min=0, max=36500),
    Setting("BODYCAM_S3_LEGAL_HOLD", "bool", False, "also set an Object Lock legal hold on every blob"),
    Setting("BODYCAM_PUBLIC_URL", "url", "",
            "the address docks and browsers reach this server at; empty: the address `bodycam serve` last served",
            schemes=("http", "https")),
    # Web and sign-in
    Setting("BODYCAM_DEBUG", "bool", False, "Django debug pages and CLI tracebacks (never in production)"),
    Setting("BODYCAM_ALLOWED_HOSTS", "list", ("*",), "comma-separated host names this server answers to"),
    Setting("BODYCAM_SESSION_IDLE_SECONDS", "int", 30 * 60, "a session ends after this long without a request",
            min=1),
    Setting("BODYCAM_SESSION_ABSOLUTE_SECONDS", "int", 12 * 3600, "a session ends this long after sign-in",
            min=1),
    Setting("BODYCAM_SECURE_COOKIES", "bool", False,
            "mark cookies Secure even when TLS ends at a proxy that does not say so"),
    Setting("BODYCAM_TRUST_X_FORWARDED_PROTO", "bool", False,
            "trust the proxy's X-Forwarded-Proto: https (set only behind a proxy that sets it)"),
    Setting("BODYCAM_HSTS_SECONDS", "int", 365 * DAY, "HSTS max-age on HTTPS responses; 0: no HSTS", min=0),
    Setting("BODYCAM_HSTS_SUBDOMAINS", "bool", False, "add includeSubDomains to HSTS"),
    Setting("BODYCAM_LOGIN_RATE", "int", 10, "sign-in attempts per client address per minute (429 beyond)",
            min=1),
    Setting("BODYCAM_MFA_RATE", "int", 10, "authenticator codes per client address per minute (429 beyond)",
            min=1),
    Setting("BODYCAM_ENROL_LINK_HOURS", "int", 72,
            "hours a one-time enrolment link (new account, password reset) stays valid", min=1, max=720),
    Setting("BODYCAM_BANNER", "str", BANNER, "system-use notice shown before sign-in; set but empty: none",
            default_doc="a law-enforcement system-use notice", empty_is_value=True),
    # Audit
    Setting("BODYCAM_AUDIT_WITNESS_FILE", "path",
            lambda v: str(_data_dir(v).resolve().parent / f"{_data_dir(v).resolve().name}-witness"
                          / "audit-witness.jsonl"),
            "append-only copy of every audit entry's hash, outside the data dir; none: off",
            default_doc="<data dir>-witness/audit-witness.jsonl"),
    Setting("BODYCAM_AUDIT_CHECKPOINT_INTERVAL", "int", 60,
            "seconds between signed audit checkpoints (when entries were added)", min=1),
    Setting("BODYCAM_AUDIT_STRICT", "bool", False,
            "refuse (raise) an audit action not declared in custody/actions.py; off: write it and log an error "
            "(on with BODYCAM_DEBUG, and in the tests)"),
    # Ingest
    Setting("BODYCAM_MIN_FREE_BYTES", "int", 512 * 1024 * 1024,
            "free space ingest keeps in reserve; an upload that would leave less gets 507", min=0),
    Setting("BODYCAM_MAX_CONCURRENT_UPLOADS", "int", 32, "upload slots per process; beyond this ingest answers 503",
            min=1),
    Setting("BODYCAM_INGEST_TOKEN_TTL", "int", DAY, "seconds an ingest (Swift) token stays valid", min=1),
    Setting("BODYCAM_MAX_OBJECT_BYTES", "int", 5 * 1024**4, "an upload announcing more is refused with 413",
            min=1),
    Setting("BODYCAM_STORAGE_ALERT_INTERVAL", "int", 900, "at most one storage.full alert per this many seconds",
            min=0),
    Setting("BODYCAM_INCOMING_GRACE", "int", 3600,
            "seconds before temp files of stopped uploads (objects/incoming) are removed", min=0),
    Setting("BODYCAM_ORPHAN_GRACE_DAYS", "float", 30.0,
            "days a quarantined orphan is kept before `bodycam orphans purge` may remove it", min=0),
    # Jobs
    Setting("BODYCAM_BROKER_URL", "url", "filesystem://",
            "Celery broker: filesystem:// (inside the data dir) or redis://host:6379/0"),
    Setting("BODYCAM_JOBS_INLINE", "bool", False, "run submitted jobs in the calling process (tests, one-shot CLI)"),
    Setting("BODYCAM_JOB_MAX_ATTEMPTS", "int", 5, "attempts before a job stays failed", min=1),
    Setting("BODYCAM_JOB_RETRY_BASE", "float", 30.0, "seconds before the first retry (doubles each time)", min=0),
    Setting("BODYCAM_JOB_TIME_LIMIT", "int", 3600, "soft time limit per attempt in seconds (killed 30 s later)",
            min=1),
    Setting("BODYCAM_JOB_LEASE", "float", 60.0, "seconds after which a dead worker's job is taken over", min=1),
    Setting("BODYCAM_JOB_RECONCILE", "float", 30.0,
            "seconds between reconciler rounds (re-send queued jobs past the grace, expired leases); 0: off",
            min=0),
    Setting("BODYCAM_JOB_QUEUE_GRACE", "float", 300.0, "seconds a job may stay queued past due before it is re-sent",
            min=0),
    Setting("BODYCAM_WORKER_CONCURRENCY", "int", 0,
            "job processes per `bodycam worker`; 0: 1 (embedded, with beat) or one per core", min=0),
    Setting("BODYCAM_FIXITY_INTERVAL", "int", DAY, "seconds between scheduled fixity checks", min=1),
    Setting("BODYCAM_RETENTION_POLICY", "path", "",
            "retention policy file (YAML/JSON) applied before each sweep; empty: the policy in the database"),
    Setting("BODYCAM_RETENTION_SWEEP_INTERVAL", "int", DAY, "seconds between scheduled retention sweeps", min=1),
    # Media
    Setting("BODYCAM_MEDIA_AUTO_PLAYBACK", "bool", True, "make a playback proxy and thumbnail for every new clip"),
    Setting("BODYCAM_MEDIA_AUTO_TRANSCRIBE", "bool", False, "transcribe every new clip"),
    Setting("BODYCAM_MEDIA_AUTO_ANALYZE", "bool", True,
            "find faces and licence plates in every new clip (low-priority job), so redactions open "
            "with tracks ready and plates are searchable"),
    Setting("BODYCAM_MEDIA_DEVICE", "enum", "auto", "transcription/redaction hardware; auto: a GPU when present",
            choices=("auto", "cpu", "cuda")),
    Setting("BODYCAM_TRANSCRIBE_MODEL", "enum", "base", "shipped speech model: base (multilingual) or tiny.en",
            choices=("base", "tiny.en")),
    Setting("BODYCAM_TRANSCRIBE_MODEL_DIR", "path", "", "any CTranslate2 Whisper model directory (wins over the model)"),
    Setting("BODYCAM_MODELS_DIR", "path", lambda v: str(_data_dir(v).resolve() / "models"),
            "where the base model is put together", default_doc="<data dir>/models"),
    Setting("BODYCAM_TRANSCRIBE_LANGUAGE", "str", "auto", "agency default: auto (detect) or a Whisper code (en, es...)"),
    Setting("BODYCAM_TRANSCRIBE_TRANSLATE", "bool", True, "translate non-English transcripts to English"),
    # Records and release
    Setting("BODYCAM_RECORDS_CRITICAL_DAYS", "int", 45, "deadline (days from receipt) of a critical-incident request",
            min=1),
    Setting("BODYCAM_RECORDS_STANDARD_DAYS", "int", 10, "deadline (days from receipt) of a standard request",
            min=1),
    Setting("BODYCAM_RECORDS_EXTENSION_DAYS", "int", 30, "days one logged deadline extension adds", min=1),
    Setting("BODYCAM_RECORDS_SINGLE_PERSON_APPROVAL", "bool", False,
            "let the custodian who submitted a records request also approve it (tiny agencies; the request says so)"),
    Setting("BODYCAM_RECORDS_DELIVERY_DAYS", "int", 30, "the longest a records delivery link may live (days)", min=1,
            max=365),
    Setting("BODYCAM_SHARE_LINK_MAX_DAYS", "int", 90, "the longest a share link may live (days)", min=1),
    # Operations
    Setting("BODYCAM_METRICS_TOKEN", "str", "", "bearer token Prometheus sends to /metrics; empty: admins only",
            secret=True),
    Setting("BODYCAM_LOG_FORMAT", "enum", "text", "text, or json: one JSON object per line", choices=("text", "json")),
    Setting("BODYCAM_LOG_LEVEL", "enum", "INFO", "root log level",
            choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    # Device side (camera, dock; read without Django)
    Setting("BODYCAM_SIGNAL_GROUP", "str", "239.255.42.99", "multicast group of the camera signal bus",
            used_by="device"),
    Setting("BODYCAM_SIGNAL_PORT", "int", 47099, "UDP port of the camera signal bus", min=1, max=65535,
            used_by="device"),
    Setting("BODYCAM_SIGNAL_IFACE", "str", "127.0.0.1", "interface address the signal bus uses", used_by="device"),
    Setting("BODYCAM_SIGNAL_KEY_FILE", "path", "", "the fleet's shared signal key (HMAC); empty: unsigned signals",
            used_by="device"),
    Setting("BODYCAM_BLE_TRANSPORT", "str", "usb:0", "bumble transport of the BLE dongle", used_by="device"),
    # Directory sign-in (docs/access.md "Directory sign-in"): groups map to roles as "group=role;..."
    Setting("BODYCAM_OIDC_DISCOVERY_URL", "url", "", "OpenID Connect discovery URL; empty: no OIDC sign-in",
            schemes=("https", "http")),
    Setting("BODYCAM_OIDC_CLIENT_ID", "str", "", "OIDC client id registered with the provider"),
    Setting("BODYCAM_OIDC_CLIENT_SECRET", "str", "", "OIDC client secret", secret=True),
    Setting("BODYCAM_OIDC_SCOPES", "str", "openid profile email", "scopes asked for"),
    Setting("BODYCAM_OIDC_PROVIDER_NAME", "str", "single sign-on", "the provider's name on the sign-in button"),
    Setting("BODYCAM_OIDC_USERNAME_CLAIM", "str", "preferred_username", "ID token claim giving the user name"),
    Setting("BODYCAM_OIDC_GROUPS_CLAIM", "str", "groups", "ID token (or userinfo) claim listing the groups"),
    Setting("BODYCAM_OIDC_GROUP_ROLES", "str", "", "group=role;... (first match wins; no match: refused)"),
    Setting("BODYCAM_OIDC_MFA_AMR", "str", "mfa,otp,hwk,swk,sc", "amr values that count as the IdP's MFA"),
    Setting("BODYCAM_OIDC_MFA_ACR", "str", "", "acr values that count as the IdP's MFA (comma-separated)"),
    Setting("BODYCAM_OIDC_ACR_VALUES", "str", "", "acr_values asked for in the authorization request"),
    Setting("BODYCAM_LDAP_URL", "url", "", "ldap:// or ldaps:// directory; empty: no LDAP sign-in",
            schemes=("ldap", "ldaps")),
    Setting("BODYCAM_LDAP_STARTTLS", "bool", False, "StartTLS on an ldap:// URL (the certificate is checked)"),
    Setting("BODYCAM_LDAP_CA_FILE", "str", "", "CA certificate file for the directory's TLS"),
    Setting("BODYCAM_LDAP_BIND_DN", "str", "", "service account that searches for users"),
    Setting("BODYCAM_LDAP_BIND_PASSWORD", "str", "", "the service account's password", secret=True),
    Setting("BODYCAM_LDAP_USER_BASE", "str", "", "base DN of user entries"),
    Setting("BODYCAM_LDAP_USER_FILTER", "str", "(uid={username})", "filter finding one user ({username} escaped)"),
    Setting("BODYCAM_LDAP_USERNAME_ATTR", "str", "uid", "attribute holding the user name"),
    Setting("BODYCAM_LDAP_ID_ATTR", "str", "entryUUID", "attribute with a stable id (AD: objectGUID)"),
    Setting("BODYCAM_LDAP_GROUP_BASE", "str", "", "base DN of group entries (besides memberOf)"),
    Setting("BODYCAM_LDAP_GROUP_FILTER", "str", "(|(member={dn})(uniqueMember={dn}))", "filter finding a user's groups"),
    Setting("BODYCAM_LDAP_GROUP_ROLES", "str", "", "group=role;... (first match wins; no match: refused)"),
    Setting("BODYCAM_LDAP_REQUIRE_GROUP", "str", "", "only members of this group may sign in"),
    Setting("BODYCAM_LDAP_TIMEOUT", "float", 10.0, "seconds before the directory counts as down", min=0.1),
    # E-mail notifications (notify/): no host, no mail
    Setting("BODYCAM_SMTP_HOST", "str", "", "SMTP server; empty: no notification mail is sent"),
    Setting("BODYCAM_SMTP_PORT", "int", 587, "SMTP port (587 STARTTLS, 465 implicit TLS)", min=1, max=65535),
    Setting("BODYCAM_SMTP_STARTTLS", "bool", True, "STARTTLS on the SMTP connection (off when BODYCAM_SMTP_SSL)"),
    Setting("BODYCAM_SMTP_SSL", "bool", False, "implicit TLS (port 465) instead of STARTTLS"),
    Setting("BODYCAM_SMTP_USER", "str", "", "SMTP user name; empty: no login"),
    Setting("BODYCAM_SMTP_PASSWORD", "str", "", "SMTP password", secret=True),
    Setting("BODYCAM_SMTP_PASSWORD_FILE", "path", "", "a file holding the SMTP password (wins over the variable)"),
    Setting("BODYCAM_SMTP_FROM", "str", "bodycam@localhost", "the From address of notification mail"),
    Setting("BODYCAM_SMTP_TIMEOUT", "float", 30.0, "seconds before the SMTP server counts as down", min=0.1),
    Setting("BODYCAM_NOTIFY_INTERVAL", "int", 900, "seconds between notification sweeps", min=1),
    Setting("BODYCAM_NOTIFY_RECORDS_DEADLINE_DAYS", "int", 3, "records requests due within this many days are mailed",
            min=0),
    Setting("BODYCAM_NOTIFY_UNDOCKED_DAYS", "int", "", "deprecated: the old name of BODYCAM_CAMERA_STALE_DAYS "
            "(read only when that is not set)", min=1, max=3650),
    Setting("BODYCAM_CAMERA_STALE_DAYS", "int", lambda v: v["BODYCAM_NOTIFY_UNDOCKED_DAYS"] or 7,
            "a camera (not retired) that has not docked this many days is listed as stale on the cameras page "
            "and raises a custody alert (checked hourly); a body camera with no upload this long is mailed "
            "(camera.undocked)", min=1, max=3650, default_doc="7"),
    # Pages: the agency's clock and evidence numbers
    # Live view (live/, docs/live.md): cameras stream while recording, supervisors watch
    Setting("BODYCAM_LIVE", "bool", False, "accept live video and positions from recording cameras (the site's consent)"),
    Setting("BODYCAM_LIVE_MAX_PUBLISHERS", "int", 20, "cameras this server relays at once; more are refused (503)",
            min=0, max=1000),
    Setting("BODYCAM_LIVE_MAX_VIEWERS", "int", 40, "browsers this server relays to at once; more are refused (503)",
            min=0, max=10000),
    Setting("BODYCAM_LIVE_STUN_URLS", "list", (), "STUN servers for cameras, browsers and the relay "
            "(stun:host:3478, comma-separated); empty: none (one network)"),
    Setting("BODYCAM_LIVE_TURN_URLS", "list", (), "TURN servers (turn:host:3478?transport=udp, turns:...), e.g. coturn"),
    Setting("BODYCAM_LIVE_TURN_SECRET", "str", "", "coturn's static-auth-secret: time-limited TURN credentials "
            "are made from it (use-auth-secret)", secret=True),
    Setting("BODYCAM_LIVE_TILE_URL", "str", "", "map tiles for the on-air page, e.g. "
            "https://tiles.example.org/{z}/{x}/{y}.png; empty: a plain position plot, nothing leaves the server"),
    Setting("BODYCAM_LIVE_STALE_SECONDS", "int", 60, "a recording camera not heard from this long is shown as "
            "out of contact", min=10, max=86400),
    Setting("BODYCAM_TIME_ZONE", "str", "UTC", "the agency's IANA time zone for every time a page shows"),
    Setting("BODYCAM_EVIDENCE_NUMBER", "str", "{year}-{seq:06}",
            "evidence number pattern: {year} {yy} {month} of the start, {seq} the year's next number"),
    Setting("BODYCAM_CASE_NUMBER", "str", "C{year}-{seq:04}",
            "case number pattern for a case opened without a typed number: {year} {yy} {month} of the day, {seq}"),
    # Who sees what
    Setting("BODYCAM_DETECTIVES_SEE_ALL", "bool", False,
            "detectives see all unrestricted footage (restricted and critical-incident-locked stay hidden); "
            "off: only their cases' and granted recordings"),
    # Test tools (tests/, scripts/): the server ignores them
    Setting("BODYCAM_TEST_ENGINE", "str", "", "set by tests/testenv.py for the PostgreSQL pass", used_by="tests"),
    Setting("BODYCAM_TEST_PARALLEL", "bool", True, "scripts/test.sh: run the two engine passes side by side",
            used_by="tests"),
    Setting("BODYCAM_ARTIFACTS", "path", "", "where browser tests put screenshots; empty: test-artifacts/",
            used_by="tests"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Config:
    values: dict[str, object]
    sources: dict[str, str]  # "default" or "environment"

    def __getitem__(self, name: str) -> object:
        return self.values[name]


def _check_names(environ: Mapping[str, str]) -> None:
    for name in sorted(environ):
        if name.startswith(PREFIX) and name not in BY_NAME:
            # Compared without the shared prefix, so that it does not make every name look close.
            close = difflib.get_close_matches(name[len(PREFIX):], [n[len(PREFIX):] for n in BY_NAME], n=1, cutoff=0.6)
            hint = f"did you mean {PREFIX}{close[0]}?" if close else "see docs/settings.md or `bodycam config show`"
            raise SettingError(f"{name} is not a setting; {hint}")


def load(environ: Mapping[str, str] | None = None) -> Config:
    """All declared settings from the environment, checked; SettingError on the first problem."""
    environ = os.environ if environ is None else environ
    _check_names(environ)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        raw = environ.get(s.name, "")
        if raw.strip() or (s.empty_is_value and s.name in environ):
            values[s.name], sources[s.name] = s.parse(raw), "environment"
        else:
            default = s.default(values) if callable(s.default) else s.default
            values[s.name], sources[s.name] = default, "default"
    return Config(values, sources)


def env_value(name: str, environ: Mapping[str, str] | None = None) -> object:
    """One declared setting, read and checked now (device side, before Django is set up)."""
    s = BY_NAME[name]
    raw = (os.environ if environ is None else environ).get(name, "")
    if raw.strip():
        return s.parse(raw)
    if callable(s.default):
        raise ValueError(f"{name} has a derived default: use load()")
    return s.default


def show(config: Config) -> list[tuple[str, str, str]]:
    """(name, value as shown, source) of every setting, secrets masked."""
    return [(s.name, s.shown(config.values[s.name]), config.sources[s.name]) for s in SETTINGS]


def _default_doc(s: Setting) -> str:
    if s.default_doc:
        return s.default_doc
    if s.default in ("", None):
        return "(empty)"
    if s.kind == "bool":
        return "yes" if s.default else "no"
    if s.kind == "list":
        return ",".join(s.default)
    return str(s.default)


def _type_doc(s: Setting) -> str:
    if s.kind == "enum":
        return " \\| ".join(s.choices)
    text = s.kind
    if s.kind == "url" and s.schemes:
        text += " (" + ", ".join(s.schemes) + ")"
    if s.min is not None or s.max is not None:
        low = _num(s.min) if s.min is not None else ""
        high = _num(s.max) if s.max is not None else ""
        text += f" {low}..{high}"
    if s.secret:
        text += ", secret"
    return text


def reference() -> str:
    """docs/settings.md: generated from SETTINGS (`bodycam config docs`); a test keeps it in step."""
    lines = [
        "# Settings reference",
        "",
        "<!-- Generated from src/bodycam/config.py by `bodycam config docs > docs/settings.md`; do not edit. -->",
        "",
        "Every `BODYCAM_*` environment variable, declared once in `src/bodycam/config.py`. A value",
        "that does not parse or lies outside its range, or a `BODYCAM_*` name that is not listed",
        "here, stops the server at start with one line naming the variable (`bodycam` exits 2).",
        "Booleans take `1`/`0`, `true`/`false`, `yes`/`no` (any case); an empty value means the",
        "default (an empty `BODYCAM_BANNER` means no banner). `bodycam config show` prints the",
        "values in effect, secrets masked, and where each came from (default or environment).",
        "Variables used by the device side or the test tools are listed so that a server sharing",
        "their environment accepts them; the server ignores them.",
        "",
        "| variable | type | default | used by | what |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        default, what = (text.replace("|", "\\|") for text in (_default_doc(s), s.help))
        lines.append(f"| `{s.name}` | {_type_doc(s)} | {default} | {s.used_by} | {what} |")
    return "\n".join(lines) + "\n"


__all__ = ["BY_NAME", "SETTINGS", "Config", "Setting", "SettingError", "env_value", "load", "reference", "show"]
