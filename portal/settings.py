"""Settings for Wharf, read from the environment (see README "Configuration").

The defaults are the embedded setup `make run` uses: SQLite and a filesystem Celery
broker under `var/`, and a development secret key generated once and kept there.
Set `DATABASE_URL`, `CELERY_BROKER_URL` and `CACHE_URL` to run on PostgreSQL and
Redis; set `WHARF_HTTPS=true` (plus `ALLOWED_HOSTS`, `CSRF_TRUSTED_ORIGINS` and
`SECRET_KEY`) for production, which then passes `manage.py check --deploy`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ

from accounts.directory.config import OIDC_BACKEND, ldap_settings, oidc_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

VAR_DIR = Path(env.str("WHARF_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _kept_secret(name: str, length: int = 64) -> str:
    """A random secret made once and kept under var/, so it survives restarts."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(length))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _kept_secret("secret_key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Production HTTPS hardening: one switch turns on everything `check --deploy` asks for.
WHARF_HTTPS = env.bool("WHARF_HTTPS", default=False)
SECURE_SSL_REDIRECT = WHARF_HTTPS
SESSION_COOKIE_SECURE = WHARF_HTTPS
CSRF_COOKIE_SECURE = WHARF_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if WHARF_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = WHARF_HTTPS
SECURE_HSTS_PRELOAD = WHARF_HTTPS
if env.bool("WHARF_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "accounts",
    "audit",
    "repositories",
    "webhooks",
    "replication",
]

MIDDLEWARE = [
    "portal.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestContextMiddleware",
    # The registry token endpoint is answered here; the page middlewares below do not run for it.
    "accounts.registry_auth.middleware.TokenEndpointMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the browser's Accept-Language (or the language cookie), then the
    # signed-in user's own choice once authentication ran (UserLanguageMiddleware).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.wharf",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'wharf.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# The token service's lookups run as prepared statements on PostgreSQL (planning them cost
# more than running them). Off behind a transaction-pooling proxy (PgBouncer), which is what
# Django's DISABLE_SERVER_SIDE_CURSORS already says; the variable decides either way.
WHARF_DB_PREPARED_STATEMENTS = env.bool(
    "WHARF_DB_PREPARED_STATEMENTS", default=not DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False)
)
# PostgreSQL's JIT compiles any statement the planner costs above `jit_above_cost`, and a
# page's keyset query over 100k tags with a filter costs that on paper while it reads 50 rows:
# the compiling took 25 of its 28 ms (README, "Configuration"). Wharf's statements are short
# lookups and bounded reads, so connections turn it off; WHARF_DB_JIT=on leaves the server's
# setting. Behind PgBouncer, which refuses the `options` startup parameter unless told to
# ignore it, set `ALTER DATABASE ... SET jit = off` instead.
WHARF_DB_JIT = env.bool("WHARF_DB_JIT", default=False)
_POOLED = DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not (WHARF_DB_JIT or _POOLED):
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too, not Django's default shared in-memory database, whose
    # table locks ignore the busy timeout: concurrent writers then fail in tests the
    # way they never do in `make run`.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-wharf.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://wharf")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Django's backend builds a Redis client per call (portal/cache.py says why that matters).
    CACHES["default"]["BACKEND"] = "portal.cache.RedisCache"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Directory login (LDAP): off unless WHARF_LDAP_SERVER_URI is set; see accounts.directory.
_DIRECTORY = ldap_settings(os.environ)
globals().update({k: v for k, v in _DIRECTORY.items() if k.startswith("AUTH_LDAP_")})
AUTHENTICATION_BACKENDS: list[str] = _DIRECTORY["AUTHENTICATION_BACKENDS"]
WHARF_LDAP_ENABLED: bool = _DIRECTORY["WHARF_LDAP_ENABLED"]
WHARF_LDAP_MIRROR_GROUPS: list[str] = _DIRECTORY["WHARF_LDAP_MIRROR_GROUPS"]
WHARF_LDAP_PROBLEMS: list[tuple[str, str]] = _DIRECTORY["WHARF_LDAP_PROBLEMS"]
# Single sign-on (OIDC): off unless WHARF_OIDC_DISCOVERY_URL is set; see accounts.directory.oidc.
_OIDC = oidc_settings(os.environ)
WHARF_OIDC_ENABLED: bool = _OIDC["WHARF_OIDC_ENABLED"]
WHARF_OIDC_PROBLEMS: list[tuple[str, str]] = _OIDC["WHARF_OIDC_PROBLEMS"]
WHARF_OIDC_DISCOVERY_URL: str = _OIDC["WHARF_OIDC_DISCOVERY_URL"]
WHARF_OIDC_CLIENT_ID: str = _OIDC["WHARF_OIDC_CLIENT_ID"]
WHARF_OIDC_CLIENT_SECRET: str = _OIDC["WHARF_OIDC_CLIENT_SECRET"]
WHARF_OIDC_SCOPES: str = _OIDC["WHARF_OIDC_SCOPES"]
WHARF_OIDC_USERNAME_CLAIM: str = _OIDC["WHARF_OIDC_USERNAME_CLAIM"]
WHARF_OIDC_GROUPS_CLAIM: str = _OIDC["WHARF_OIDC_GROUPS_CLAIM"]
WHARF_OIDC_MIRROR_GROUPS: list[str] = _OIDC["WHARF_OIDC_MIRROR_GROUPS"]
WHARF_OIDC_ADMIN_GROUP: str = _OIDC["WHARF_OIDC_ADMIN_GROUP"]
if WHARF_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append(OIDC_BACKEND)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# The interface's languages, each named in itself (the switcher shows these names).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# The catalogue of the templates and portal/; each app keeps its own in <app>/locale/.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("WHARF_MANIFEST_STATIC", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "portal.api.negotiation.ContentNegotiation",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wharf API",
    "DESCRIPTION": "Projects, members, users and the audit log of a Wharf container registry portal.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # One enum component for project roles, whether the field is `role` or `my_role`.
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.permissions.Role",
        # Retention's choices share field names with sync runs and artifacts; all keep stable names.
        "KindEnum": "repositories.models.Artifact.Kind",
        "StatusEnum": "repositories.models.SyncRun.Status",
        "TriggerEnum": "repositories.models.SyncRun.Trigger",
        "RetentionRunStatusEnum": "repositories.models.retention.RetentionRun.Status",
        "RetentionRunTriggerEnum": "repositories.models.retention.RetentionRun.Trigger",
        "RecycleBinEntryKindEnum": "repositories.models.retention.RecycleBinEntry.Kind",
        "AccessoryKindEnum": "repositories.accessories.AccessoryKind",
        # Findings' `severity` and reports' `worst_severity` are the same bands.
        "SeverityEnum": "repositories.models.scanning.Severity",
        "ReplicationTriggerEnum": "replication.models.ReplicationRule.Trigger",
        "ReplicationDirectionEnum": "replication.models.ReplicationRule.Direction",
        # A replication run's statuses are a sync run's (queued, running, succeeded, failed): StatusEnum.
        "ReplicationItemStatusEnum": "replication.models.ReplicationItem.Status",
    },
    # Swagger UI from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: the embedded default is a filesystem broker under var/ (no server needed).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue = VAR_DIR / "celery" / "queue"
    _processed = VAR_DIR / "celery" / "processed"
    _control = VAR_DIR / "celery" / "control"
    for _folder in (_queue, _processed, _control):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(_processed),
        "store_processed": False,
        "control_folder": str(_control),
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# Wharf's own settings.
# Who may create projects: "everyone" (any active user) or "admins" (system admins).
WHARF_PROJECT_CREATION = env.str("WHARF_PROJECT_CREATION", default="everyone")
# Whether the public project list is readable without logging in.
WHARF_ANONYMOUS_PUBLIC_LIST = env.bool("WHARF_ANONYMOUS_PUBLIC_LIST", default=False)
# Whether a project may opt out of the system-wide default retention policy.
WHARF_RETENTION_DEFAULT_OPT_OUT = env.bool("WHARF_RETENTION_DEFAULT_OPT_OUT", default=False)
# Take the client address from X-Forwarded-For (only behind a proxy you trust).
WHARF_TRUST_X_FORWARDED_FOR = env.bool("WHARF_TRUST_X_FORWARDED_FOR", default=False)

# `make run`'s local ports: the defaults of the addresses below (and the Procfile's
# WHARF_BIND) follow them, so one variable each moves Wharf or its own registry. Not
# REGISTRY_PORT: the registry reads REGISTRY_* variables as its own configuration.
WHARF_PORT = env.int("WHARF_PORT", default=8000)
WHARF_REGISTRY_PORT = env.int("WHARF_REGISTRY_PORT", default=5000)

# The registry Wharf fronts (see README "The registry").
REGISTRY_URL = env.str("REGISTRY_URL", default=f"http://127.0.0.1:{WHARF_REGISTRY_PORT}")
# The gate in the data path (nginx from `manage.py gate_config`, `repositories/gate`): clients
# pull and push through it and it asks Wharf about every manifest. On by default when Wharf
# runs its own registry (no REGISTRY_URL given); WHARF_GATE_URL="" turns it off.
WHARF_GATE_PORT = env.int("WHARF_GATE_PORT", default=WHARF_REGISTRY_PORT + 1)
WHARF_GATE_URL = env.str(
    "WHARF_GATE_URL", default="" if env.str("REGISTRY_URL", default="") else f"http://127.0.0.1:{WHARF_GATE_PORT}"
).rstrip("/")
# Where nginx reaches Wharf's gate endpoints (Wharf's own address, not its public URL).
WHARF_GATE_UPSTREAM = env.str("WHARF_GATE_UPSTREAM", default=f"127.0.0.1:{WHARF_PORT}")
# How long nginx waits for Wharf's answer, and what it does without one: `by-project`
# refuses the manifests of projects with policies and lets the others through, `closed`
# refuses all, `open` lets all through.
WHARF_GATE_TIMEOUT = env.float("WHARF_GATE_TIMEOUT", default=2.0)
WHARF_GATE_FAILURE = env.str("WHARF_GATE_FAILURE", default="by-project")
# Seconds nginx keeps Wharf's answer for a manifest, method and credentials (0: ask every
# time): a policy change takes up to this long (+1 s, nginx's whole-second clock) to apply to
# repeated pulls, never longer (benchmarks/gate_bench.py).
WHARF_GATE_DECISION_CACHE = env.int("WHARF_GATE_DECISION_CACHE", default=1)
# Seconds an expired kept answer may still serve while one background request asks Wharf
# again (0: never; then requests at expiry wait for Wharf). Adds to how long a change takes.
WHARF_GATE_DECISION_STALE = env.int("WHARF_GATE_DECISION_STALE", default=0)
# Seconds a push the gate let through under a quota keeps its share reserved if Wharf's rows
# never show it (the registry's notification and the manifest's read normally settle it first).
WHARF_GATE_RESERVATION_SECONDS = env.int("WHARF_GATE_RESERVATION_SECONDS", default=600)
WHARF_GATE_STATE_DIR = Path(env.str("WHARF_GATE_STATE_DIR", default=str(VAR_DIR / "gate")))
# host[:port] people use in `docker pull`: the gate's when there is one, else REGISTRY_URL's.
REGISTRY_PUBLIC_HOST = env.str("REGISTRY_PUBLIC_HOST", default="") or (
    WHARF_GATE_URL or REGISTRY_URL
).split("://", 1)[-1].rstrip("/")
# Optional Basic credentials for a registry that is not (yet) trusting Wharf's tokens.
REGISTRY_USERNAME = env.str("REGISTRY_USERNAME", default="")
REGISTRY_PASSWORD = env.str("REGISTRY_PASSWORD", default="")
REGISTRY_TIMEOUT = env.float("REGISTRY_TIMEOUT", default=10.0)
# Where `make run`'s own registry keeps its data and config.
REGISTRY_STORAGE_DIR = Path(env.str("REGISTRY_STORAGE_DIR", default=str(VAR_DIR / "registry")))
# The config `registry_config` writes and `make run` serves: garbage collection runs
# only against it (a registry Wharf does not run is not Wharf's to collect).
WHARF_REGISTRY_CONFIG = Path(env.str("WHARF_REGISTRY_CONFIG", default=str(REGISTRY_STORAGE_DIR / "config.yml")))
WHARF_REGISTRY_BINARY = env.str("WHARF_REGISTRY_BINARY", default="docker-registry")
WHARF_GC_TIMEOUT = env.int("WHARF_GC_TIMEOUT", default=3600)
# The shared secret the registry sends with each notification (header Authorization: Bearer ...).
WHARF_NOTIFY_SECRET = env.str("WHARF_NOTIFY_SECRET", default="") or _kept_secret("notify_secret", 32)
# The shared secret nginx sends with each question to Wharf's gate endpoints.
WHARF_GATE_SECRET = env.str("WHARF_GATE_SECRET", default="") or _kept_secret("gate_secret", 32)
# Where the registry reaches Wharf for notifications.
WHARF_NOTIFY_URL = env.str("WHARF_NOTIFY_URL", default=f"http://127.0.0.1:{WHARF_PORT}/service/notifications")
# Project for single-component repository names such as `alpine`.
WHARF_DEFAULT_PROJECT = env.str("WHARF_DEFAULT_PROJECT", default="library")
# The registry token service (GET /service/token): Wharf signs ES256 tokens the registry trusts.
# Wharf's address as the registry and `docker login` reach it (the token realm lives under it).
WHARF_PUBLIC_URL = env.str("WHARF_PUBLIC_URL", default=f"http://127.0.0.1:{WHARF_PORT}").rstrip("/")
WHARF_TOKEN_KEY = Path(env.str("WHARF_TOKEN_KEY", default=str(VAR_DIR / "token" / "key.pem")))
WHARF_TOKEN_CERT = Path(env.str("WHARF_TOKEN_CERT", default=str(VAR_DIR / "token" / "cert.pem")))
WHARF_TOKEN_LIFETIME = env.int("WHARF_TOKEN_LIFETIME", default=300)
WHARF_TOKEN_SERVICE = env.str("WHARF_TOKEN_SERVICE", default="wharf-registry")
WHARF_TOKEN_ISSUER = env.str("WHARF_TOKEN_ISSUER", default="wharf")
# Wharf's own registry calls carry tokens it signs itself (on unless it logs in with a password).
WHARF_REGISTRY_TOKEN_AUTH = env.bool("WHARF_REGISTRY_TOKEN_AUTH", default=not REGISTRY_USERNAME)
# Failed Basic logins at the token service before 429, per account and per client address.
WHARF_TOKEN_FAILURES_PER_ACCOUNT = env.int("WHARF_TOKEN_FAILURES_PER_ACCOUNT", default=10)
WHARF_TOKEN_FAILURES_PER_ADDRESS = env.int("WHARF_TOKEN_FAILURES_PER_ADDRESS", default=50)
WHARF_TOKEN_FAILURE_WINDOW = env.int("WHARF_TOKEN_FAILURE_WINDOW", default=300)
# Seconds a process remembers a verified password at the token service (0: hash every time).
WHARF_TOKEN_PASSWORD_CACHE_SECONDS = env.int("WHARF_TOKEN_PASSWORD_CACHE_SECONDS", default=300)
# Registry requests a sync keeps in flight at once.
WHARF_SYNC_CONCURRENCY = env.int("WHARF_SYNC_CONCURRENCY", default=16)
# Catalog page size a sync asks for (the registry caps it at 1000).
WHARF_SYNC_PAGE_SIZE = env.int("WHARF_SYNC_PAGE_SIZE", default=100)
# Minutes between scheduled full syncs (0 turns the schedule off).
WHARF_SYNC_INTERVAL_MINUTES = env.int("WHARF_SYNC_INTERVAL_MINUTES", default=60)
if WHARF_SYNC_INTERVAL_MINUTES > 0:
    CELERY_BEAT_SCHEDULE["scheduled-full-sync"] = {
        "task": "repositories.tasks.scheduled_sync",
        "schedule": WHARF_SYNC_INTERVAL_MINUTES * 60.0,
    }

# Tag retention. Days a deleted manifest stays restorable in the recycle bin (the registry's
# garbage collection may remove its blobs sooner; a restore checks first).
WHARF_RECYCLE_BIN_DAYS = env.int("WHARF_RECYCLE_BIN_DAYS", default=14)
# Attempts per deletion when the registry fails transiently, and the first pause between them
# (doubled each time), on top of the registry client's own quick retries.
WHARF_RETENTION_DELETE_ATTEMPTS = env.int("WHARF_RETENTION_DELETE_ATTEMPTS", default=3)
WHARF_RETENTION_RETRY_SECONDS = env.float("WHARF_RETENTION_RETRY_SECONDS", default=2.0)
# A real run's deletions in flight at once (the registry serves about 8 well on 2 cores), and
# how many items share one bookkeeping transaction (recycle entries, item rows, audit events).
WHARF_RETENTION_CONCURRENCY = env.int("WHARF_RETENTION_CONCURRENCY", default=8)
WHARF_RETENTION_CHUNK_SIZE = env.int("WHARF_RETENTION_CHUNK_SIZE", default=100)
# Every minute: queue the retention runs whose cron schedule is due. Hourly: purge expired entries.
CELERY_BEAT_SCHEDULE["scheduled-retention"] = {
    "task": "repositories.tasks.scheduled_retention",
    "schedule": 60.0,
}
# Every minute: queue the garbage collection when its schedule (set on the GC page) is due.
CELERY_BEAT_SCHEDULE["scheduled-gc"] = {
    "task": "repositories.tasks.scheduled_gc",
    "schedule": 60.0,
}
# Hourly: today's statistics row of every project (storage, pushes/pulls, findings) for the charts.
CELERY_BEAT_SCHEDULE["record-daily-stats"] = {
    "task": "repositories.tasks.record_daily_stats",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["purge-recycle-bin"] = {
    "task": "repositories.tasks.purge_recycle_bin",
    "schedule": 3600.0,
}
# Hourly: failed-login counts whose window has ended (the brute-force lock's rows).
CELERY_BEAT_SCHEDULE["purge-login-failures"] = {
    "task": "accounts.tasks.purge_login_failures",
    "schedule": 3600.0,
}

# Vulnerability scanning. Caps on reading one image: compressed bytes per layer (0 = no cap
# beyond the engine's own decompressed-size and ratio caps) and bytes of package files kept.
WHARF_SCAN_MAX_LAYER_BYTES = env.int("WHARF_SCAN_MAX_LAYER_BYTES", default=8 * 1024**3)
WHARF_SCAN_MAX_KEPT_BYTES = env.int("WHARF_SCAN_MAX_KEPT_BYTES", default=256 * 1024**2)
# Daily: rescan every image against the current vulnerability database (0 turns it off).
WHARF_SCAN_RESCAN_HOURS = env.int("WHARF_SCAN_RESCAN_HOURS", default=24)
if WHARF_SCAN_RESCAN_HOURS > 0:
    CELERY_BEAT_SCHEDULE["rescan-all-images"] = {
        "task": "repositories.tasks.rescan_all",
        "schedule": WHARF_SCAN_RESCAN_HOURS * 3600.0,
    }

# Outgoing webhooks. Targets on loopback/private addresses are refused unless allowed (SSRF).
WHARF_WEBHOOKS_ALLOW_PRIVATE = env.bool("WHARF_WEBHOOKS_ALLOW_PRIVATE", default=False)
WHARF_WEBHOOKS_TIMEOUT = env.float("WHARF_WEBHOOKS_TIMEOUT", default=5.0)  # whole attempt, seconds
WHARF_WEBHOOKS_MAX_RESPONSE_BYTES = env.int("WHARF_WEBHOOKS_MAX_RESPONSE_BYTES", default=64 * 1024)
WHARF_WEBHOOKS_MAX_ATTEMPTS = env.int("WHARF_WEBHOOKS_MAX_ATTEMPTS", default=6)
WHARF_WEBHOOKS_BACKOFF_SECONDS = env.float("WHARF_WEBHOOKS_BACKOFF_SECONDS", default=30.0)
WHARF_WEBHOOKS_BACKOFF_CAP_SECONDS = env.float("WHARF_WEBHOOKS_BACKOFF_CAP_SECONDS", default=3600.0)
# Prometheus metrics at /metrics: for a bearer token, or for these addresses/networks.
WHARF_METRICS_TOKEN = env.str("WHARF_METRICS_TOKEN", default="")
WHARF_METRICS_ALLOWED_ADDRESSES = env.list("WHARF_METRICS_ALLOWED_ADDRESSES", default=[])
# Every 30 s: send the deliveries whose retry is due.
CELERY_BEAT_SCHEDULE["webhook-retries"] = {
    "task": "webhooks.tasks.retry_due",
    "schedule": 30.0,
}

# Replication (`replication/`). Fernet keys (comma-separated, `Fernet.generate_key()`) that
# encrypt registry endpoints' passwords: the first encrypts, every one decrypts (rotation:
# put the new key first, keep the old one until `manage.py rotate_endpoint_secrets`).
# Without a key, endpoints can be added without credentials only.
WHARF_REPLICATION_KEYS = env.list("WHARF_REPLICATION_KEYS", default=[])
# Artifacts a replication run copies at once (each copies its blobs in turn).
WHARF_REPLICATION_CONCURRENCY = env.int("WHARF_REPLICATION_CONCURRENCY", default=8)
WHARF_REPLICATION_TIMEOUT = env.float("WHARF_REPLICATION_TIMEOUT", default=30.0)
# Proxy-cache projects: where their Distribution instances keep what they cached, and the
# first port offered to a new one (each listens on 127.0.0.1:<its port>).
WHARF_PROXY_CACHE_DIR = Path(env.str("WHARF_PROXY_CACHE_DIR", default=str(VAR_DIR / "proxy-cache")))
WHARF_PROXY_CACHE_FIRST_PORT = env.int("WHARF_PROXY_CACHE_FIRST_PORT", default=5100)
# Every minute: queue the replication runs whose cron schedule is due.
CELERY_BEAT_SCHEDULE["scheduled-replication"] = {
    "task": "replication.tasks.scheduled_replication",
    "schedule": 60.0,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logging.RequestIdFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # One line per registry request is noise at INFO; failures surface as RegistryError.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # Server errors and refused requests name the request id the user was shown.
        "django.request": {"filters": ["request_id"]},
        "django.security": {"filters": ["request_id"]},
    },
}
