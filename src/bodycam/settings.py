"""Django settings, all from the environment so one build runs embedded or clustered.

Each ``BODYCAM_*`` variable is declared once, typed and range-checked, in ``bodycam.config``
(reference: docs/settings.md); a bad or unknown one stops here with one line naming it.
"""

import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

from . import timefmt as _timefmt  # pure Python, no Django
from .config import SettingError, load
from .files import write_private

_env = load()

DATA_DIR = Path(_env["BODYCAM_DATA_DIR"]).resolve()
KEYS_DIR = DATA_DIR / "keys"
OBJECTS_DIR = DATA_DIR / "objects"


def _secret_key() -> str:
    if _env["BODYCAM_SECRET_KEY"]:
        return _env["BODYCAM_SECRET_KEY"]
    path = KEYS_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        KEYS_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_urlsafe(50)
        write_private(path, key, exclusive=True)
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


DATABASE_URL = _env["BODYCAM_DATABASE_URL"]
DATABASES = {"default": database_from_url(DATABASE_URL)}

SECRET_KEY = _secret_key()
DEBUG = _env["BODYCAM_DEBUG"]
ALLOWED_HOSTS = list(_env["BODYCAM_ALLOWED_HOSTS"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",  # the OpenAPI schema (/api/schema/, web/api_schema.py)
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our own static files (/api/docs/)
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
    "bodycam.notify",
    "bodycam.live",
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
        # Project-level templates (base.html, error.html) that every app's pages extend; each app's
        # own templates stay in <app>/templates/<app>/ (docs/architecture.md, "Templates").
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "libraries": {"panels": "bodycam.panels"},  # {% panels "case" case %}: panels apps register
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
AGENCY_TIME_ZONE = _env["BODYCAM_TIME_ZONE"] or "UTC"
try:
    _timefmt.zone(AGENCY_TIME_ZONE)
except ValueError as exc:
    raise SettingError(f"BODYCAM_TIME_ZONE: {exc}") from None
# Evidence numbers, given once when a recording is created ({year} {yy} {month}: of its start
# in the agency's zone; {seq}: the next number of that year's sequence). See docs/web.md.
EVIDENCE_NUMBER_PATTERN = _env["BODYCAM_EVIDENCE_NUMBER"]
# Case numbers for a case opened without a typed one (the same fields; its own sequence).
CASE_NUMBER_PATTERN = _env["BODYCAM_CASE_NUMBER"]
# Detectives see every recording but restricted and locked ones (access.services.reach); off:
# their cases' and granted recordings only.
DETECTIVES_SEE_ALL = _env["BODYCAM_DETECTIVES_SEE_ALL"]
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
LOGIN_URL = "/login/"

# Sessions: 30 min idle, 12 h absolute (bodycam.access.middleware enforces both).
SESSION_IDLE_SECONDS = _env["BODYCAM_SESSION_IDLE_SECONDS"]
SESSION_ABSOLUTE_SECONDS = _env["BODYCAM_SESSION_ABSOLUTE_SECONDS"]
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Cookies are always marked Secure on HTTPS requests (SecureCookiesMiddleware);
# BODYCAM_SECURE_COOKIES=1 forces the flag even when TLS ends at a proxy that does not say so.
SESSION_COOKIE_SECURE = _env["BODYCAM_SECURE_COOKIES"]
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if _env["BODYCAM_TRUST_X_FORWARDED_PROTO"]:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS on every HTTPS response (Django's SecurityMiddleware; plain HTTP never gets it). One year
# by default; BODYCAM_HSTS_SECONDS=0 turns it off, BODYCAM_HSTS_SUBDOMAINS=1 adds includeSubDomains.
SECURE_HSTS_SECONDS = _env["BODYCAM_HSTS_SECONDS"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env["BODYCAM_HSTS_SUBDOMAINS"]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "bodycam.web.views.csrf_failure"

# Sign-in rate limits (per client address): requests per window, answered 429 beyond.
LOGIN_RATE = (_env["BODYCAM_LOGIN_RATE"], 60)
MFA_RATE = (_env["BODYCAM_MFA_RATE"], 60)
ENROL_LINK_HOURS = _env["BODYCAM_ENROL_LINK_HOURS"]
SYSTEM_USE_BANNER = _env["BODYCAM_BANNER"]

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bodycam.access.drf.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "bodycam.web.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI 3 schema of the REST API (drf-spectacular; web/api_schema.py), for signed-in
# people and API tokens only (the default permission above; deny by default).
SPECTACULAR_SETTINGS = {
    "TITLE": "bodycam REST API",
    "DESCRIPTION": "Evidence, audit, sharing, transcripts and redactions. Every error answers "
                   "`{\"error\": reason}` with its status. Sign in (session cookie + X-CSRFToken on writes) "
                   "or send `Authorization: Bearer <token>` (`bodycam token create`).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # drf-spectacular's default: anyone
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "bodycam.web.api_schema.add_error_responses"],
    "DISABLE_ERRORS_AND_WARNINGS": False,
}

# Audit chain witness (custody/witness.py, docs/access.md): every committed entry's hash and
# every signed checkpoint are appended to AUDIT_WITNESS_FILE, by default beside the data dir
# (never inside it: whoever rewrites the database should not reach it); "none" turns it off and
# `bodycam audit verify` then exits 3. The scheduler signs a checkpoint every
# AUDIT_CHECKPOINT_INTERVAL seconds when entries were added since the last one.
AUDIT_CHECKPOINT_INTERVAL = _env["BODYCAM_AUDIT_CHECKPOINT_INTERVAL"]
AUDIT_WITNESS_FILE = _env["BODYCAM_AUDIT_WITNESS_FILE"]
# An audit action not declared in custody/actions.py: raise (strict: tests, debug) or write the
# entry and log an error (production: an audit entry is never lost for a missing label).
AUDIT_STRICT = _env["BODYCAM_AUDIT_STRICT"] or DEBUG

# Ingest
MIN_FREE_BYTES = _env["BODYCAM_MIN_FREE_BYTES"]
MAX_CONCURRENT_UPLOADS = _env["BODYCAM_MAX_CONCURRENT_UPLOADS"]
INGEST_TOKEN_TTL_SECONDS = _env["BODYCAM_INGEST_TOKEN_TTL"]
# The public base URL (connection files, printed links); empty: the address served
# (ingest.connection.public_base_url).
PUBLIC_URL = _env["BODYCAM_PUBLIC_URL"]
# An object larger than this is refused with 413 before anything is written (5 TiB: the
# largest object S3 holds); so is one larger than the whole local store.
MAX_OBJECT_BYTES = _env["BODYCAM_MAX_OBJECT_BYTES"]
# At most one storage.full alert per this many seconds (every refusal is still logged).
STORAGE_ALERT_INTERVAL = _env["BODYCAM_STORAGE_ALERT_INTERVAL"]
# Temp files of uploads that stopped (objects/incoming) are removed once untouched this long.
INCOMING_GRACE_SECONDS = _env["BODYCAM_INCOMING_GRACE"]
# Quarantined orphans (objects/orphans) may be removed by `bodycam orphans purge` after this.
ORPHAN_GRACE_DAYS = _env["BODYCAM_ORPHAN_GRACE_DAYS"]

# Blob store: local directory by default; s3://bucket/prefix for object storage.
STORAGE_URL = _env["BODYCAM_STORAGE_URL"]
S3_OPTIONS = {
    "endpoint_url": _env["BODYCAM_S3_ENDPOINT_URL"],
    "region": _env["BODYCAM_S3_REGION"],
    "access_key": _env["BODYCAM_S3_ACCESS_KEY_ID"],
    "secret_key": _env["BODYCAM_S3_SECRET_ACCESS_KEY"],
    "part_size": _env["BODYCAM_S3_PART_MB"] * 1024 * 1024,
    # Object Lock (when the bucket has it): compliance retention set on every committed blob.
    "retention_days": _env["BODYCAM_S3_RETENTION_DAYS"],
    "legal_hold": _env["BODYCAM_S3_LEGAL_HOLD"],
}

# Jobs: the embedded default keeps its broker in the data directory (no server).
BROKER_URL = _env["BODYCAM_BROKER_URL"]
# Run submitted jobs in the calling process instead of the workers (tests, one-shot CLI).
JOBS_INLINE = _env["BODYCAM_JOBS_INLINE"]
# Distributed jobs: attempts before a job stays failed, first retry delay (doubles
# each time), soft time limit per attempt in seconds (the worker child is killed 30 s later).
JOB_MAX_ATTEMPTS = _env["BODYCAM_JOB_MAX_ATTEMPTS"]
JOB_RETRY_BASE_SECONDS = _env["BODYCAM_JOB_RETRY_BASE"]
JOB_TIME_LIMIT = _env["BODYCAM_JOB_TIME_LIMIT"]
JOB_LEASE_SECONDS = _env["BODYCAM_JOB_LEASE"]  # a dead worker's job is taken over after this
WORKER_CONCURRENCY = _env["BODYCAM_WORKER_CONCURRENCY"]  # 0: 1 with beat, else one per core
# The job reconciler (every worker runs it this often; 0: off): a job queued longer than the
# grace after it was due, or running with a lease that ran out, is sent to the workers again.
JOB_RECONCILE_SECONDS = _env["BODYCAM_JOB_RECONCILE"]
JOB_QUEUE_GRACE_SECONDS = _env["BODYCAM_JOB_QUEUE_GRACE"]
# Make a playback proxy + thumbnail (background job) for every clip as it commits.
MEDIA_AUTO_PLAYBACK = _env["BODYCAM_MEDIA_AUTO_PLAYBACK"]
# Transcription/redaction: "auto" uses a GPU when present; a larger Whisper (CTranslate2) model dir.
MEDIA_DEVICE = _env["BODYCAM_MEDIA_DEVICE"]
TRANSCRIBE_MODEL_DIR = _env["BODYCAM_TRANSCRIBE_MODEL_DIR"]  # any CTranslate2 Whisper dir (wins)
TRANSCRIBE_MODEL = _env["BODYCAM_TRANSCRIBE_MODEL"]  # base (multilingual) | tiny.en
MODELS_DIR = Path(_env["BODYCAM_MODELS_DIR"])  # base model put together here
# Agency defaults (a job may override both): "auto" detects, or a Whisper code (en, es, ...) forces.
TRANSCRIBE_LANGUAGE = _env["BODYCAM_TRANSCRIBE_LANGUAGE"].lower()
TRANSCRIBE_TRANSLATE = _env["BODYCAM_TRANSCRIBE_TRANSLATE"]  # non-English -> English MT
MEDIA_AUTO_TRANSCRIBE = _env["BODYCAM_MEDIA_AUTO_TRANSCRIBE"]
# Redaction analysis (faces, plates) of every new clip, as a low-priority background job.
MEDIA_AUTO_ANALYZE = _env["BODYCAM_MEDIA_AUTO_ANALYZE"]
# Public-records deadlines (days from receipt) and the step of a logged extension.
RECORDS_CRITICAL_DAYS = _env["BODYCAM_RECORDS_CRITICAL_DAYS"]
RECORDS_STANDARD_DAYS = _env["BODYCAM_RECORDS_STANDARD_DAYS"]
RECORDS_EXTENSION_DAYS = _env["BODYCAM_RECORDS_EXTENSION_DAYS"]
RECORDS_SINGLE_PERSON_APPROVAL = _env["BODYCAM_RECORDS_SINGLE_PERSON_APPROVAL"]
RECORDS_DELIVERY_DAYS = _env["BODYCAM_RECORDS_DELIVERY_DAYS"]
# Share links: the longest a link may live (days).
SHARE_LINK_MAX_DAYS = _env["BODYCAM_SHARE_LINK_MAX_DAYS"]
FIXITY_INTERVAL_SECONDS = _env["BODYCAM_FIXITY_INTERVAL"]

# Operations: Prometheus scrapes /metrics with this bearer token; JSON logs for shippers.
METRICS_TOKEN = _env["BODYCAM_METRICS_TOKEN"]
LOG_FORMAT = _env["BODYCAM_LOG_FORMAT"]  # text | json

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "bodycam.ops.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             **({"formatter": "json"} if LOG_FORMAT == "json" else {})}},
    "root": {"handlers": ["console"], "level": _env["BODYCAM_LOG_LEVEL"]},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Retention policy file (YAML/JSON) applied before each sweep; empty = the policy in the database.
RETENTION_POLICY_FILE = _env["BODYCAM_RETENTION_POLICY"]
RETENTION_SWEEP_INTERVAL = _env["BODYCAM_RETENTION_SWEEP_INTERVAL"]
# Directory sign-in (docs/access.md "Directory sign-in", docs/deploy.md). Groups map to
# roles with "group=role;group=role" (the first pair that matches wins); a user in no mapped group
# is refused. Local accounts keep signing in with their password (break-glass).
# OpenID Connect (authorization code flow with PKCE): on when a discovery URL is set.
OIDC_DISCOVERY_URL = _env["BODYCAM_OIDC_DISCOVERY_URL"]
OIDC_CLIENT_ID = _env["BODYCAM_OIDC_CLIENT_ID"]
OIDC_CLIENT_SECRET = _env["BODYCAM_OIDC_CLIENT_SECRET"]
OIDC_SCOPES = _env["BODYCAM_OIDC_SCOPES"]
OIDC_PROVIDER_NAME = _env["BODYCAM_OIDC_PROVIDER_NAME"]
OIDC_USERNAME_CLAIM = _env["BODYCAM_OIDC_USERNAME_CLAIM"]
OIDC_GROUPS_CLAIM = _env["BODYCAM_OIDC_GROUPS_CLAIM"]
OIDC_GROUP_ROLES = _env["BODYCAM_OIDC_GROUP_ROLES"]
# The IdP's MFA is accepted when the ID token's amr has one of these, or its acr is listed.
OIDC_MFA_AMR = _env["BODYCAM_OIDC_MFA_AMR"]
OIDC_MFA_ACR = _env["BODYCAM_OIDC_MFA_ACR"]
OIDC_ACR_VALUES = _env["BODYCAM_OIDC_ACR_VALUES"]  # asked for in the authorization request
# LDAP / Active Directory (bind + search): on when a URL is set (ldap:// or ldaps://).
LDAP_URL = _env["BODYCAM_LDAP_URL"]
LDAP_STARTTLS = _env["BODYCAM_LDAP_STARTTLS"]
LDAP_CA_FILE = _env["BODYCAM_LDAP_CA_FILE"]
LDAP_BIND_DN = _env["BODYCAM_LDAP_BIND_DN"]
LDAP_BIND_PASSWORD = _env["BODYCAM_LDAP_BIND_PASSWORD"]
LDAP_USER_BASE = _env["BODYCAM_LDAP_USER_BASE"]
LDAP_USER_FILTER = _env["BODYCAM_LDAP_USER_FILTER"]
LDAP_USERNAME_ATTR = _env["BODYCAM_LDAP_USERNAME_ATTR"]
LDAP_ID_ATTR = _env["BODYCAM_LDAP_ID_ATTR"]
LDAP_GROUP_BASE = _env["BODYCAM_LDAP_GROUP_BASE"]
LDAP_GROUP_FILTER = _env["BODYCAM_LDAP_GROUP_FILTER"]
LDAP_GROUP_ROLES = _env["BODYCAM_LDAP_GROUP_ROLES"]
LDAP_REQUIRE_GROUP = _env["BODYCAM_LDAP_REQUIRE_GROUP"]
LDAP_TIMEOUT = _env["BODYCAM_LDAP_TIMEOUT"]

# E-mail notifications (notify/, docs/deploy.md): an SMTP server; no host = no mail is sent.
# STARTTLS on by default (port 587); BODYCAM_SMTP_SSL=1 for implicit TLS (port 465) instead.
NOTIFY_SMTP = {
    "host": _env["BODYCAM_SMTP_HOST"],
    "port": _env["BODYCAM_SMTP_PORT"],
    "starttls": _env["BODYCAM_SMTP_STARTTLS"] and not _env["BODYCAM_SMTP_SSL"],
    "ssl": _env["BODYCAM_SMTP_SSL"],
    "user": _env["BODYCAM_SMTP_USER"],
    "password": (Path(_env["BODYCAM_SMTP_PASSWORD_FILE"]).read_text().strip()
                 if _env["BODYCAM_SMTP_PASSWORD_FILE"] else _env["BODYCAM_SMTP_PASSWORD"]),
    "from": _env["BODYCAM_SMTP_FROM"],
    "timeout": _env["BODYCAM_SMTP_TIMEOUT"],
}
NOTIFY_INTERVAL = _env["BODYCAM_NOTIFY_INTERVAL"]  # the periodic sweep, seconds
NOTIFY_RECORDS_DEADLINE_DAYS = _env["BODYCAM_NOTIFY_RECORDS_DEADLINE_DAYS"]
# Cameras not docked this long: stale on the fleet page, a custody alert, a mail (notify).
CAMERA_STALE_DAYS = _env["BODYCAM_CAMERA_STALE_DAYS"]

# Live view (live/, docs/live.md)
LIVE_ENABLED = _env["BODYCAM_LIVE"]
LIVE_MAX_PUBLISHERS = _env["BODYCAM_LIVE_MAX_PUBLISHERS"]
LIVE_MAX_VIEWERS = _env["BODYCAM_LIVE_MAX_VIEWERS"]
LIVE_STUN_URLS = list(_env["BODYCAM_LIVE_STUN_URLS"])
LIVE_TURN_URLS = list(_env["BODYCAM_LIVE_TURN_URLS"])
LIVE_TURN_SECRET = _env["BODYCAM_LIVE_TURN_SECRET"]
LIVE_TILE_URL = _env["BODYCAM_LIVE_TILE_URL"]
if LIVE_TILE_URL and not (LIVE_TILE_URL.split("://", 1)[0] in ("http", "https") and "://" in LIVE_TILE_URL
                          and all(k in LIVE_TILE_URL for k in ("{z}", "{x}", "{y}"))):
    raise SettingError("BODYCAM_LIVE_TILE_URL must be an http(s) URL with {z}, {x} and {y} in it")
LIVE_STALE_SECONDS = _env["BODYCAM_LIVE_STALE_SECONDS"]
