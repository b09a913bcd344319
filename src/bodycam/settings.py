"""Settings, all from the environment so one build runs embedded or clustered.

BODYCAM_DATA_DIR      data directory (default ./var): SQLite db, keys/, objects/
BODYCAM_DATABASE_URL  sqlite:///path or postgresql://user:pass@host:port/db
BODYCAM_SECRET_KEY    Django secret (default: generated once into keys/secret_key)
BODYCAM_BROKER_URL    Celery broker (default: a filesystem broker inside the data dir)
BODYCAM_MIN_FREE_BYTES  ingest answers 507 when an upload would leave less free than this
BODYCAM_MAX_CONCURRENT_UPLOADS  per-process upload slots; beyond this ingest answers 503
BODYCAM_AUDIT_WITNESS_FILE  audit witness (default <data dir>-witness/audit-witness.jsonl; "none": off)
BODYCAM_TIME_ZONE     the agency's time zone for pages (IANA name, default UTC)
BODYCAM_EVIDENCE_NUMBER  evidence number pattern (default {year}-{seq:06})
BODYCAM_PUBLIC_URL    the address docks and browsers reach this server at (behind a proxy);
                      default: the address `bodycam serve` last served from this data dir
"""

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

from . import timefmt as _timefmt  # pure Python, no Django

DATA_DIR = Path(os.environ.get("BODYCAM_DATA_DIR", "./var")).resolve()
KEYS_DIR = DATA_DIR / "keys"
OBJECTS_DIR = DATA_DIR / "objects"


def _secret_key() -> str:
    if os.environ.get("BODYCAM_SECRET_KEY"):
        return os.environ["BODYCAM_SECRET_KEY"]
    path = KEYS_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        KEYS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key


def database_from_url(url: str) -> dict:
    """Turn BODYCAM_DATABASE_URL into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if url.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
        elif url.startswith("sqlite:///"):
            path = path[1:] if path.startswith("/") else path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path or str(DATA_DIR / "bodycam.sqlite3"),
            "OPTIONS": {
                # WAL lets readers run beside the single writer; IMMEDIATE avoids
                # lock-upgrade deadlocks between concurrent ingest threads.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 60,
            },
        }
    if parsed.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ValueError(f"unsupported BODYCAM_DATABASE_URL scheme: {parsed.scheme!r}")


DATABASE_URL = os.environ.get("BODYCAM_DATABASE_URL", f"sqlite:///{DATA_DIR / 'bodycam.sqlite3'}")
DATABASES = {"default": database_from_url(DATABASE_URL)}

SECRET_KEY = _secret_key()
DEBUG = os.environ.get("BODYCAM_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("BODYCAM_ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "bodycam.access",
    "bodycam.custody",
    "bodycam.evidence",
    "bodycam.cases",
    "bodycam.ingest",
    "bodycam.jobs",
    "bodycam.media",
    "bodycam.search",
    "bodycam.release",
    "bodycam.retention",
    "bodycam.records",
    "bodycam.web",
]

MIDDLEWARE = [
    "bodycam.http.ResponseHeadersMiddleware",  # CSP, Cache-Control: no-store, HEAD answers without a body
    "bodycam.http.BodyLimitsMiddleware",  # JSON bodies: 413 when too large, 400 when nested too deeply
    "bodycam.http.NulCharactersMiddleware",  # PostgreSQL refuses NUL in any string: a 400 first
    "bodycam.access.middleware.SecureCookiesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "bodycam.access.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bodycam.http.ErrorPageMiddleware",  # an uncaught BodycamError -> its status + error page
]

ROOT_URLCONF = "bodycam.urls"
WSGI_APPLICATION = "bodycam.wsgi.application"
AUTH_USER_MODEL = "access.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # Django's own: the catalogue, the API and exports stay in UTC
# The agency's zone: every time a page shows (``{% load when %}``) and the days of the search
# page's date filters. An IANA name; default UTC. Checked here, so a typo stops start-up.
AGENCY_TIME_ZONE = os.environ.get("BODYCAM_TIME_ZONE", "UTC").strip() or "UTC"
_timefmt.zone(AGENCY_TIME_ZONE)
# Evidence numbers, given once when a recording is created ({year} {yy} {month}: of its start
# in the agency's zone; {seq}: the next number of that year's sequence). See docs/web.md.
EVIDENCE_NUMBER_PATTERN = os.environ.get("BODYCAM_EVIDENCE_NUMBER", "{year}-{seq:06}").strip()
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
LOGIN_URL = "/login/"

# Sessions (issue 4): 30 min idle, 12 h absolute (bodycam.access.middleware enforces both).
SESSION_IDLE_SECONDS = int(os.environ.get("BODYCAM_SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_ABSOLUTE_SECONDS = int(os.environ.get("BODYCAM_SESSION_ABSOLUTE_SECONDS", str(12 * 3600)))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Cookies are always marked Secure on HTTPS requests (SecureCookiesMiddleware);
# BODYCAM_SECURE_COOKIES=1 forces the flag even when TLS ends at a proxy that does not say so.
SESSION_COOKIE_SECURE = os.environ.get("BODYCAM_SECURE_COOKIES", "") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if os.environ.get("BODYCAM_TRUST_X_FORWARDED_PROTO", "") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS on every HTTPS response (Django's SecurityMiddleware; plain HTTP never gets it). One year
# by default; BODYCAM_HSTS_SECONDS=0 turns it off, BODYCAM_HSTS_SUBDOMAINS=1 adds includeSubDomains.
SECURE_HSTS_SECONDS = int(os.environ.get("BODYCAM_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("BODYCAM_HSTS_SUBDOMAINS", "") == "1"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "bodycam.web.views.csrf_failure"

# Sign-in rate limits (per client address): requests per window, answered 429 beyond.
LOGIN_RATE = (int(os.environ.get("BODYCAM_LOGIN_RATE", "10")), 60)
MFA_RATE = (int(os.environ.get("BODYCAM_MFA_RATE", "10")), 60)
SYSTEM_USE_BANNER = os.environ.get("BODYCAM_BANNER", (
    "You are accessing a law-enforcement information system. Use is restricted to authorized users "
    "for official purposes. All activity is monitored, recorded and audited; unauthorized use may "
    "result in disciplinary action and criminal prosecution. By continuing you consent to this monitoring."))

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bodycam.access.drf.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "bodycam.web.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Audit chain witness (custody/witness.py, docs/access.md): every committed entry's hash and
# every signed checkpoint are appended to AUDIT_WITNESS_FILE, by default beside the data dir
# (never inside it: whoever rewrites the database should not reach it); "none" turns it off and
# `bodycam audit verify` then exits 3. The scheduler signs a checkpoint every
# AUDIT_CHECKPOINT_INTERVAL seconds when entries were added since the last one.
AUDIT_CHECKPOINT_INTERVAL = int(os.environ.get("BODYCAM_AUDIT_CHECKPOINT_INTERVAL", "60"))
AUDIT_WITNESS_FILE = (os.environ.get("BODYCAM_AUDIT_WITNESS_FILE", "").strip()
                      or str(DATA_DIR.parent / f"{DATA_DIR.name}-witness" / "audit-witness.jsonl"))

# Ingest
MIN_FREE_BYTES = int(os.environ.get("BODYCAM_MIN_FREE_BYTES", str(512 * 1024 * 1024)))
MAX_CONCURRENT_UPLOADS = int(os.environ.get("BODYCAM_MAX_CONCURRENT_UPLOADS", "32"))
INGEST_TOKEN_TTL_SECONDS = int(os.environ.get("BODYCAM_INGEST_TOKEN_TTL", str(24 * 3600)))
# The public base URL (connection files, printed links); empty: the address served
# (ingest.connection.public_base_url).
PUBLIC_URL = os.environ.get("BODYCAM_PUBLIC_URL", "").strip()
# An object larger than this is refused with 413 before anything is written (5 TiB: the
# largest object S3 holds); so is one larger than the whole local store.
MAX_OBJECT_BYTES = int(os.environ.get("BODYCAM_MAX_OBJECT_BYTES", str(5 * 1024**4)))
# At most one storage.full alert per this many seconds (every refusal is still logged).
STORAGE_ALERT_INTERVAL = int(os.environ.get("BODYCAM_STORAGE_ALERT_INTERVAL", "900"))
# Temp files of uploads that stopped (objects/incoming) are removed once untouched this long.
INCOMING_GRACE_SECONDS = int(os.environ.get("BODYCAM_INCOMING_GRACE", "3600"))
# Quarantined orphans (objects/orphans) may be removed by `bodycam orphans purge` after this.
ORPHAN_GRACE_DAYS = float(os.environ.get("BODYCAM_ORPHAN_GRACE_DAYS", "30"))

# Blob store (issue 8): local directory by default; s3://bucket/prefix for object storage.
STORAGE_URL = os.environ.get("BODYCAM_STORAGE_URL", "")
S3_OPTIONS = {
    "endpoint_url": os.environ.get("BODYCAM_S3_ENDPOINT_URL", ""),
    "region": os.environ.get("BODYCAM_S3_REGION", "us-east-1"),
    "access_key": os.environ.get("BODYCAM_S3_ACCESS_KEY_ID", ""),
    "secret_key": os.environ.get("BODYCAM_S3_SECRET_ACCESS_KEY", ""),
    "part_size": int(os.environ.get("BODYCAM_S3_PART_MB", "8")) * 1024 * 1024,
    # Object Lock (when the bucket has it): compliance retention set on every committed blob.
    "retention_days": int(os.environ.get("BODYCAM_S3_RETENTION_DAYS", "365")),
    "legal_hold": os.environ.get("BODYCAM_S3_LEGAL_HOLD", "") == "1",
}

# Jobs: the embedded default keeps its broker in the data directory (no server).
BROKER_URL = os.environ.get("BODYCAM_BROKER_URL", "filesystem://")
# Run submitted jobs in the calling process instead of the workers (tests, one-shot CLI).
JOBS_INLINE = os.environ.get("BODYCAM_JOBS_INLINE", "") == "1"
# Distributed jobs (issue 8): attempts before a job stays failed, first retry delay (doubles
# each time), soft time limit per attempt in seconds (the worker child is killed 30 s later).
JOB_MAX_ATTEMPTS = int(os.environ.get("BODYCAM_JOB_MAX_ATTEMPTS", "5"))
JOB_RETRY_BASE_SECONDS = float(os.environ.get("BODYCAM_JOB_RETRY_BASE", "30"))
JOB_TIME_LIMIT = int(os.environ.get("BODYCAM_JOB_TIME_LIMIT", "3600"))
JOB_LEASE_SECONDS = float(os.environ.get("BODYCAM_JOB_LEASE", "60"))  # a dead worker's job is taken over after this
# The job reconciler (every worker runs it this often; 0: off): a job queued longer than the
# grace after it was due, or running with a lease that ran out, is sent to the workers again.
JOB_RECONCILE_SECONDS = float(os.environ.get("BODYCAM_JOB_RECONCILE", "30"))
JOB_QUEUE_GRACE_SECONDS = float(os.environ.get("BODYCAM_JOB_QUEUE_GRACE", "300"))
# Make a playback proxy + thumbnail (background job) for every clip as it commits.
MEDIA_AUTO_PLAYBACK = os.environ.get("BODYCAM_MEDIA_AUTO_PLAYBACK", "1") == "1"
# Transcription/redaction (issue 7): "auto" uses a GPU when present; a larger Whisper (CTranslate2) model dir.
MEDIA_DEVICE = os.environ.get("BODYCAM_MEDIA_DEVICE", "auto")
TRANSCRIBE_MODEL_DIR = os.environ.get("BODYCAM_TRANSCRIBE_MODEL_DIR", "")  # any CTranslate2 Whisper dir (wins)
TRANSCRIBE_MODEL = os.environ.get("BODYCAM_TRANSCRIBE_MODEL", "base")  # base (multilingual) | tiny.en
MODELS_DIR = Path(os.environ.get("BODYCAM_MODELS_DIR", "") or DATA_DIR / "models")  # base model put together here
# Agency defaults (a job may override both): "auto" detects, or a Whisper code (en, es, ...) forces.
TRANSCRIBE_LANGUAGE = os.environ.get("BODYCAM_TRANSCRIBE_LANGUAGE", "auto").strip().lower() or "auto"
TRANSCRIBE_TRANSLATE = os.environ.get("BODYCAM_TRANSCRIBE_TRANSLATE", "1") == "1"  # non-English -> English MT
MEDIA_AUTO_TRANSCRIBE = os.environ.get("BODYCAM_MEDIA_AUTO_TRANSCRIBE", "0") == "1"
# Public-records deadlines (days from receipt) and the step of a logged extension.
RECORDS_CRITICAL_DAYS = int(os.environ.get("BODYCAM_RECORDS_CRITICAL_DAYS", "45"))
RECORDS_STANDARD_DAYS = int(os.environ.get("BODYCAM_RECORDS_STANDARD_DAYS", "10"))
RECORDS_EXTENSION_DAYS = int(os.environ.get("BODYCAM_RECORDS_EXTENSION_DAYS", "30"))
# Share links: the longest a link may live (days).
SHARE_LINK_MAX_DAYS = int(os.environ.get("BODYCAM_SHARE_LINK_MAX_DAYS", "90"))
FIXITY_INTERVAL_SECONDS = int(os.environ.get("BODYCAM_FIXITY_INTERVAL", str(24 * 3600)))

# Operations (issue 8): Prometheus scrapes /metrics with this bearer token; JSON logs for shippers.
METRICS_TOKEN = os.environ.get("BODYCAM_METRICS_TOKEN", "")
LOG_FORMAT = os.environ.get("BODYCAM_LOG_FORMAT", "text")  # text | json

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bodycam.ops.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             **({"formatter": "json"} if LOG_FORMAT == "json" else {})}},
    "root": {"handlers": ["console"], "level": os.environ.get("BODYCAM_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Retention policy file (YAML/JSON) applied before each sweep; empty = the policy in the database.
RETENTION_POLICY_FILE = os.environ.get("BODYCAM_RETENTION_POLICY", "")
RETENTION_SWEEP_INTERVAL = int(os.environ.get("BODYCAM_RETENTION_SWEEP_INTERVAL", str(24 * 3600)))
