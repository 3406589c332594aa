"""Settings for the Einmal-PIN portal, read from the environment with safe local defaults.

With nothing set the portal runs on a SQLite file with Celery eager and local file storage (DEBUG on).
DATABASE_URL, CELERY_BROKER_URL and CACHE_URL switch to PostgreSQL and Redis; PORTAL_PRODUCTION=1 turns on
the production hardening that `manage.py check --deploy` asks for and requires SECRET_KEY.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from core.branding import BrandingError, Insurer

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
VAR_DIR.mkdir(parents=True, exist_ok=True)
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

PRODUCTION = env.bool("PORTAL_PRODUCTION", default=False)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (PORTAL_PRODUCTION=1).")

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY (at least 50 random characters) is required in production.")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-" + "x" * 40)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public address of the portal, printed in PIN letters.
PORTAL_PUBLIC_URL = env.str("PORTAL_PUBLIC_URL", default="" if PRODUCTION else "http://127.0.0.1:8000")
if PRODUCTION and not PORTAL_PUBLIC_URL.startswith("https://"):
    raise ImproperlyConfigured("PORTAL_PUBLIC_URL (https://…, printed in every PIN letter) is required in production.")

INSTALLED_APPS = [
    # django.contrib.admin with staff's two-factor site as the default admin site.
    "staff.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    # Our apps, lowest layer first: core helpers, the audit log (every app above writes to it, members included),
    # members, the PIN engine, then the apps built on them.
    "core",
    "audit",
    "members",
    "pins",
    "letters",
    "scanning",
    "campaigns",
    "uploads",
    "web",
    "staff",
    # Probes and metrics read every app, so ops sits on top, beside staff.
    "ops",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "csp.context_processors.nonce",
                "web.context_processors.portal",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (seconds) save a connect per request in production; checked before reuse.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60 if PRODUCTION else 0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (runserver, an eager task) share the file: wait for a lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL.startswith(("redis://", "rediss://")):
    # Short timeouts: when Redis is away the login throttle gives up quickly and lets logins through (see
    # web/throttle.py) instead of holding a worker for the operating system's connect timeout. Django's Redis
    # backend, with one client per connection pool instead of one per call (web/cache.py).
    CACHES = {
        "default": {
            "BACKEND": "web.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "web:login"

# Internationalisation: German first, English switchable on every page.
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("Deutsch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "portal_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]

# Files go through Django's storage API only. Nothing private is ever served from a URL: "default" holds
# members' documents (also while they arrive) and letter PDFs, encrypted before they are written.
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="local")
if STORAGE_BACKEND == "s3":
    from botocore.config import Config as _BotoConfig

    # Server-side encryption on top of the portal's own AES-GCM: S3_SSE=SSE-S3 (AES256, the default), SSE-KMS
    # (aws:kms, with S3_SSE_KMS_KEY_ID or the bucket's default key) or none, for a store that has none (MinIO
    # without a key-management service refuses every write that asks for it).
    _s3_sse = {"sse-s3": "AES256", "aes256": "AES256", "sse-kms": "aws:kms", "aws:kms": "aws:kms", "none": None}
    _s3_sse_name = env.str("S3_SSE", default="SSE-S3").strip().lower()
    if _s3_sse_name not in _s3_sse:
        raise ImproperlyConfigured(f"S3_SSE={_s3_sse_name!r} is not known: use SSE-S3, SSE-KMS or none.")
    _s3_sse_parameters = {"ServerSideEncryption": _s3_sse[_s3_sse_name]} if _s3_sse[_s3_sse_name] else {}
    if env.str("S3_SSE_KMS_KEY_ID", default=""):
        if _s3_sse[_s3_sse_name] != "aws:kms":
            raise ImproperlyConfigured("S3_SSE_KMS_KEY_ID is set: it needs S3_SSE=SSE-KMS.")
        _s3_sse_parameters["SSEKMSKeyId"] = env.str("S3_SSE_KMS_KEY_ID")
    _s3_options = {
        # Short waits and few retries: a member waits for the answer, and the letter worker retries on its own.
        "client_config": _BotoConfig(
            connect_timeout=env.int("S3_CONNECT_TIMEOUT", default=5),
            read_timeout=env.int("S3_READ_TIMEOUT", default=30),
            retries={"max_attempts": 3, "mode": "standard"},
            # No extra CRC32 pass over every byte: the portal's AES-GCM tags authenticate each segment already.
            request_checksum_calculation="when_required",
        ),
        "bucket_name": env.str("S3_BUCKET"),
        "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
        "region_name": env.str("S3_REGION", default=None),
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": True,
        "object_parameters": _s3_sse_parameters,
    }
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**_s3_options, "location": "files"},
        },
    }
else:
    STORAGES = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")),
                "base_url": None,
            },
        },
    }
# Local storage on several web nodes (WEB_NODES > 1) needs one volume they all mount at PRIVATE_MEDIA_ROOT: say
# so with STORAGE_LOCAL_SHARED=true, or `check --deploy` fails (use S3 otherwise).
WEB_NODES = env.int("WEB_NODES", default=1)
STORAGE_LOCAL_SHARED = env.bool("STORAGE_LOCAL_SHARED", default=False)
# Production's static files: scripts/collectstatic.sh (the image's static step) writes them with hashed names and
# a manifest into STATIC_ROOT; pages name the hashed files, nginx serves them (whitenoise when nginx has not).
STATICFILES_PRODUCTION_STORAGE = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
STORAGES["staticfiles"] = (
    STATICFILES_PRODUCTION_STORAGE
    if PRODUCTION
    else {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
)
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = STORAGES["default"].get("OPTIONS", {}).get("location", "")
MEDIA_URL = None

# Encryption at rest (AES-GCM) for documents and letter PDFs. The first key encrypts; all keys decrypt, so a
# new key is put first and the old ones stay listed until everything has been re-encrypted. Each key is
# "<key id>:<urlsafe base64 of 32 bytes>".
FILE_ENCRYPTION_KEYS = env.list(
    "FILE_ENCRYPTION_KEYS",
    default=[] if PRODUCTION else ["dev1:ZGV2LW9ubHktZmlsZS1rZXktMzItYnl0ZXMtbG9uZyE="],
)
if PRODUCTION and not FILE_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FILE_ENCRYPTION_KEYS is required in production.")

# The PIN engine (pins.services): every PIN rule reads its numbers from here.
PIN_VALIDITY_DAYS = env.int("PIN_VALIDITY_DAYS", default=60)
PIN_MAX_FAILED_ATTEMPTS = env.int("PIN_MAX_FAILED_ATTEMPTS", default=5)
PIN_PURGE_AFTER_DAYS = env.int("PIN_PURGE_AFTER_DAYS", default=180)
# False: a login attempt's commit does not wait for its WAL flush (a database crash may lose the last ~0.6 s of
# attempt counters and audit rows); see pins.services.verification._attempt_durability and README "The PIN".
PIN_ATTEMPT_SYNCHRONOUS_COMMIT = env.bool("PIN_ATTEMPT_SYNCHRONOUS_COMMIT", default=True)
# Argon2id for PIN hashes; at least OWASP's minimum (t=2, m=19 MiB, p=1). Changing these re-hashes on next use.
PIN_ARGON2 = {
    "time_cost": env.int("PIN_ARGON2_TIME_COST", default=2),
    "memory_cost": env.int("PIN_ARGON2_MEMORY_KIB", default=19 * 1024),
    "parallelism": env.int("PIN_ARGON2_PARALLELISM", default=1),
}
# Staff side (staff app): two-factor admin login, PIN reissues, submission export.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Einmal-PIN-Portal")
# Each wrong TOTP code doubles the wait before the next try (1 s, 2 s, 4 s, ...).
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_TOTP_THROTTLE_FACTOR", default=1)
# TOTP secrets are never shown in admin (enrolment goes through `manage.py create_staff`, which prints the QR
# code once); this also turns django-otp's config and QR views into a plain 403.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
STAFF_REISSUE_LIMIT_PER_DAY = env.int("STAFF_REISSUE_LIMIT_PER_DAY", default=3)
# Staff login under attack (staff.services.staff_login_failed): failed logins count per user name and per address
# (IPv6: /64); at the limit that name or address is locked for STAFF_LOGIN_LOCK_SECONDS, doubling with each further
# failure up to STAFF_LOGIN_LOCK_MAX_SECONDS. Counts start again after STAFF_LOGIN_WINDOW_SECONDS without a failure.
# Administrators see and lift the locks in admin. A staff session ends after STAFF_IDLE_TIMEOUT_MINUTES idle.
STAFF_LOGIN_USERNAME_LIMIT = env.int("STAFF_LOGIN_USERNAME_LIMIT", default=5)
STAFF_LOGIN_ADDRESS_LIMIT = env.int("STAFF_LOGIN_ADDRESS_LIMIT", default=20)
STAFF_LOGIN_WINDOW_SECONDS = env.int("STAFF_LOGIN_WINDOW_SECONDS", default=15 * 60)
STAFF_LOGIN_LOCK_SECONDS = env.int("STAFF_LOGIN_LOCK_SECONDS", default=60)
STAFF_LOGIN_LOCK_MAX_SECONDS = env.int("STAFF_LOGIN_LOCK_MAX_SECONDS", default=3600)
STAFF_IDLE_TIMEOUT_MINUTES = env.int("STAFF_IDLE_TIMEOUT_MINUTES", default=30)
# Where "Export" sends a submission: a dotted path to a staff.exporters.SubmissionExporter subclass.
SUBMISSION_EXPORTER = env.str("SUBMISSION_EXPORTER", default="staff.exporters.ZipExporter")
# Empty: the ZIP is handed to the case worker as a download; a storage alias: it is written there instead.
SUBMISSION_EXPORT_STORAGE = env.str("SUBMISSION_EXPORT_STORAGE", default="")

# Uploads (uploads.services): limits are checked against the announced size before any byte is stored.
UPLOAD_MAX_FILE_SIZE = env.int("UPLOAD_MAX_FILE_SIZE", default=20 * 1024 * 1024)
UPLOAD_MAX_DRAFT_SIZE = env.int("UPLOAD_MAX_DRAFT_SIZE", default=100 * 1024 * 1024)
UPLOAD_MAX_DRAFT_FILES = env.int("UPLOAD_MAX_DRAFT_FILES", default=20)
# The browser sends files in chunks of this size (each one PATCH request of the resumable upload protocol).
UPLOAD_CHUNK_SIZE = env.int("UPLOAD_CHUNK_SIZE", default=2 * 1024 * 1024)
# A partial upload not completed within this time is deleted with the segments it stored.
UPLOAD_EXPIRY_HOURS = env.int("UPLOAD_EXPIRY_HOURS", default=48)
# Stored segments no row lists are deleted by beat once this old (a request may still be writing one).
UPLOAD_ORPHAN_GRACE_MINUTES = env.int("UPLOAD_ORPHAN_GRACE_MINUTES", default=60)
# Drafts of members whose PINs have all ended are purged this long after the last one ended.
DRAFT_RETENTION_DAYS = env.int("DRAFT_RETENTION_DAYS", default=30)
# A transmitted submission's documents, message and contact changes are deleted this many days after it was first
# exported or marked done, and this many days after transmission regardless; the receipt data and audit stay.
SUBMISSION_RETENTION_DAYS_AFTER_DONE = env.int("SUBMISSION_RETENTION_DAYS_AFTER_DONE", default=30)
SUBMISSION_RETENTION_DAYS_MAX = env.int("SUBMISSION_RETENTION_DAYS_MAX", default=365)
# How long after transmission the receipt PDF can be downloaded (the session has ended by then).
RECEIPT_AVAILABLE_MINUTES = env.int("RECEIPT_AVAILABLE_MINUTES", default=15)
# ClamAV's daemon for the virus scan of every completed file (scanning.clamd): CLAMD_TCP ("host:3310") or the
# unix socket CLAMD_SOCKET; neither: files are disarmed but not scanned (check --deploy warns, the admin shows it).
CLAMD_SOCKET = env.str("CLAMD_SOCKET", default="")
CLAMD_TCP = env.str("CLAMD_TCP", default="")
CLAMD_TIMEOUT = env.float("CLAMD_TIMEOUT", default=60)
# Fail-closed: with a scanner required, a file is held (never delivered) until clamd has called it clean.
CLAMD_REQUIRED = env.bool("CLAMD_REQUIRED", default=PRODUCTION)
# Files in which clamd found malware are kept encrypted (administrators only) this long, then deleted.
QUARANTINE_RETENTION_DAYS = env.int("QUARANTINE_RETENTION_DAYS", default=90)
# Memory one image may take to decode and re-encode; checked from the header before any pixel is decoded.
# 200 MiB takes a 24-megapixel HEIC, what current phones save by default (5712 x 4284 x 4 bytes x 2 = 196 MB);
# 100 MiB refused those and let through only about 13 megapixels.
UPLOAD_IMAGE_MEMORY_BUDGET = env.int("UPLOAD_IMAGE_MEMORY_BUDGET", default=200 * 2**20)
# The disarm runs in a child process: address space above its start (RLIMIT_AS), CPU seconds (RLIMIT_CPU) and a
# wall-clock deadline; past any of them the file is refused as too complex. PDF streams decode under a budget
# counted while decoding: at most TOTAL bytes, and at most RATIO times the file's size (but FLOOR is always allowed).
UPLOAD_DISARM_MEMORY = env.int("UPLOAD_DISARM_MEMORY", default=512 * 2**20)
UPLOAD_DISARM_CPU_SECONDS = env.int("UPLOAD_DISARM_CPU_SECONDS", default=60)
UPLOAD_DISARM_WALL_SECONDS = env.float("UPLOAD_DISARM_WALL_SECONDS", default=120)
UPLOAD_PDF_DECODE_TOTAL = env.int("UPLOAD_PDF_DECODE_TOTAL", default=512 * 2**20)
UPLOAD_PDF_DECODE_RATIO = env.int("UPLOAD_PDF_DECODE_RATIO", default=100)
UPLOAD_PDF_DECODE_FLOOR = env.int("UPLOAD_PDF_DECODE_FLOOR", default=32 * 2**20)
# The case worker's viewer: the worker renders a deliverable document's pages once, in a child under the disarm's
# memory, CPU and wall limits; a document over VIEWER_MAX_PAGES pages, or with a page over VIEWER_MAX_PAGE_PIXELS
# at the viewer's width, is not shown in the browser (those allowed download it instead).
VIEWER_MAX_PAGES = env.int("VIEWER_MAX_PAGES", default=100)
VIEWER_MAX_PAGE_PIXELS = env.int("VIEWER_MAX_PAGE_PIXELS", default=8_000_000)

# PIN letters (letters app): the fonts embedded in every letter (Debian's fonts-dejavu-core), how long a
# collected letter's PDF is kept, when a request still waiting for the worker is handed to it again, and how
# often the worker tries before the letter is marked failed.
LETTER_FONT_DIR = env.str("LETTER_FONT_DIR", default="/usr/share/fonts/truetype/dejavu")
LETTER_PDF_RETENTION_DAYS = env.int("LETTER_PDF_RETENTION_DAYS", default=7)
LETTER_REQUEUE_AFTER_MINUTES = env.int("LETTER_REQUEUE_AFTER_MINUTES", default=5)
LETTER_MAX_ATTEMPTS = env.int("LETTER_MAX_ATTEMPTS", default=5)
# Campaigns: recipients per worker task, letters rendered (and committed) together, letters per print batch,
# minutes without progress before the watchdog re-dispatches.
CAMPAIGN_CHUNK_SIZE = env.int("CAMPAIGN_CHUNK_SIZE", default=500)
CAMPAIGN_RENDER_GROUP = env.int("CAMPAIGN_RENDER_GROUP", default=10)
CAMPAIGN_BATCH_SIZE = env.int("CAMPAIGN_BATCH_SIZE", default=1000)
CAMPAIGN_STALLED_MINUTES = env.int("CAMPAIGN_STALLED_MINUTES", default=5)

# Celery: eager (in-process) when no broker is configured, so the portal runs on its own.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Never used while eager (Celery only serialises through it); the host spares the "no hostname" warning.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=200)
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A visibility timeout above the longest task, so that acks_late messages are not redelivered while running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "pins-expire-and-purge": {"task": "pins.tasks.expire_and_purge_pins", "schedule": crontab(minute="*/15")},
    "letters-requeue-stale": {"task": "letters.tasks.requeue_stale_letters", "schedule": crontab(minute="*/2")},
    "letters-purge-pdfs": {"task": "letters.tasks.purge_collected_pdfs", "schedule": crontab(minute=17)},
    "uploads-purge-expired": {"task": "uploads.tasks.purge_expired", "schedule": crontab(minute="7")},
    "campaigns-watchdog": {"task": "campaigns.tasks.campaign_watchdog", "schedule": crontab(minute="*")},
    "uploads-rescan-held": {"task": "uploads.tasks.rescan_held", "schedule": crontab(minute="*/5")},
    "uploads-purge-quarantine": {"task": "uploads.tasks.purge_quarantine", "schedule": crontab(minute="37")},
    "uploads-forget-submissions": {
        "task": "uploads.tasks.forget_submissions",
        "schedule": crontab(hour="*", minute="47"),
    },
    # Re-encrypts what an old key sealed (nothing once rotated) and leaves the census for /metrics.
    "core-keys-rotate": {"task": "core.tasks.keys_rotate", "schedule": crontab(hour="3", minute="23")},
}

# Sessions: server-side, short-lived; production cookies are __Host- prefixed, Secure and HttpOnly.
SESSION_ENGINE = "web.sessions"  # database sessions written once per login (web/sessions.py)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=2 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
# A page left open past its CSRF token gets a page that says so (reload), not Django's technical one.
CSRF_FAILURE_VIEW = "web.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if PRODUCTION:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    },
}

# Logs: JSON lines in UTC with the request id (core/logs.py) unless LOG_FORMAT=plain (the default with DEBUG).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "core.logs.PlainFormatter"},
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "filters": {
        "database_outage": {"()": "web.errors.DatabaseOutageLogFilter"},
        "context": {"()": "core.logs.ContextFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A database outage: one line per failed request instead of a traceback each.
        "django.request": {"filters": ["database_outage"]},
        # WeasyPrint and fontTools narrate every step of a PIN letter at INFO/DEBUG; only their warnings count.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "pikepdf": {"level": "WARNING"},
    },
}
# The worker logs through LOGGING above (JSON in production) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Operations (ops app): probes first, then the request id, then request metrics. ---
MIDDLEWARE = [
    "ops.middleware.ProbeMiddleware",
    "core.requestid.RequestIdMiddleware",
    "ops.middleware.MetricsMiddleware",
    # An oversized form body gets the member's 413 page, also with DEBUG on (web/errors.py).
    "web.errors.RequestTooLargeMiddleware",
    *MIDDLEWARE,
]
# /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>"; empty: /metrics does not exist (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Member portal (web app, issue 3): member sessions, login throttling, extra security headers. ---
# A member session ends after this much inactivity (a warning shows MEMBER_IDLE_WARNING_SECONDS before) and
# at the latest this long after login, whatever the activity.
MEMBER_IDLE_TIMEOUT_SECONDS = env.int("MEMBER_IDLE_TIMEOUT_SECONDS", default=15 * 60)
MEMBER_IDLE_WARNING_SECONDS = env.int("MEMBER_IDLE_WARNING_SECONDS", default=60)
MEMBER_SESSION_MAX_AGE_SECONDS = env.int("MEMBER_SESSION_MAX_AGE_SECONDS", default=2 * 3600)
# Login throttling on top of the per-PIN rule, counted in the cache by client address (never by KVNR): this
# many PIN guesses that did not match from one address (IPv6: one /64) within the window block further logins
# from there until the window has passed. Guesses from everywhere together never block: past their budget,
# attack mode asks every login for a proof of work (web/attack.py).
LOGIN_THROTTLE_IP_LIMIT = env.int("LOGIN_THROTTLE_IP_LIMIT", default=20)
LOGIN_THROTTLE_IP_WINDOW_SECONDS = env.int("LOGIN_THROTTLE_IP_WINDOW_SECONDS", default=15 * 60)
LOGIN_THROTTLE_GLOBAL_LIMIT = env.int("LOGIN_THROTTLE_GLOBAL_LIMIT", default=600)
LOGIN_THROTTLE_GLOBAL_WINDOW_SECONDS = env.int("LOGIN_THROTTLE_GLOBAL_WINDOW_SECONDS", default=10 * 60)
# Attack mode (web/attack.py): above the global budget nobody is refused; every login first solves a proof of
# work (PBKDF2 iterations per try at level 1, doubling per level; 256 tries expected) or, without JavaScript,
# waits for a ticket (at least the wait, and no more tickets per second than this for everyone together).
LOGIN_ATTACK_CHALLENGE_COST = env.int("LOGIN_ATTACK_CHALLENGE_COST", default=500)
LOGIN_ATTACK_CHALLENGE_SECONDS = env.int("LOGIN_ATTACK_CHALLENGE_SECONDS", default=300)
LOGIN_ATTACK_NOJS_WAIT_SECONDS = env.int("LOGIN_ATTACK_NOJS_WAIT_SECONDS", default=5)
LOGIN_ATTACK_TICKETS_PER_SECOND = env.float("LOGIN_ATTACK_TICKETS_PER_SECOND", default=0.5)
# The ticket lane's bounds: no ticket with a longer wait is handed out (the page says the lane is full instead);
# each address gets this many tickets per window; a ticket is good this long after its wait, from its address.
LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS = env.int("LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS", default=60)
LOGIN_ATTACK_TICKETS_PER_ADDRESS = env.int("LOGIN_ATTACK_TICKETS_PER_ADDRESS", default=3)
LOGIN_ATTACK_TICKET_ADDRESS_WINDOW_SECONDS = env.int("LOGIN_ATTACK_TICKET_ADDRESS_WINDOW_SECONDS", default=60)
LOGIN_ATTACK_TICKET_VALID_SECONDS = env.int("LOGIN_ATTACK_TICKET_VALID_SECONDS", default=120)
# Browser features no page of the portal uses.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), display-capture=()"
MIDDLEWARE += [
    "core.middleware.SecurityHeadersMiddleware",
    "web.middleware.MemberSessionMiddleware",
    "staff.middleware.StaffIdleTimeoutMiddleware",
]

# --- The insurer (core/branding.py) and what production refuses. Every variable: docs/configuration.md. ---
# Production names its insurer; the demo and development show a clearly fictional one (Musterkasse, numbers from
# the ranges the Bundesnetzagentur keeps for fiction, a postcode that does not exist).
_DEMO_INSURER = {
    "INSURER_NAME": "Musterkasse (Demo)",
    "INSURER_SHORT_NAME": "Musterkasse",
    "INSURER_HOTLINE_PHONE": "030 23125 000",
    "INSURER_HOTLINE_HOURS": "Demo, keine echte Hotline",
    "INSURER_HOTLINE_HOURS_EN": "demo, not a real hotline",
    "INSURER_POSTAL_ADDRESS": "Musterweg 1,00000 Musterstadt",
    "INSURER_WEBSITE": "https://musterkasse.example",
    "INSURER_IMPRINT_URL": "https://musterkasse.example/impressum",
    "INSURER_PRIVACY_CONTACT": "Datenschutzbeauftragte der Musterkasse,datenschutz@musterkasse.example",
    "INSURER_LOGO": str(BASE_DIR / "portal" / "branding" / "musterkasse.svg"),
}
# Printed on every page, letter and receipt: a production without them would send members to nobody.
INSURER_REQUIRED_IN_PRODUCTION = (
    "INSURER_NAME",
    "INSURER_HOTLINE_PHONE",
    "INSURER_HOTLINE_HOURS",
    "INSURER_POSTAL_ADDRESS",
    "INSURER_IMPRINT_URL",
    "INSURER_PRIVACY_CONTACT",
)


def _insurer_value(variable: str) -> str:
    return env.str(variable, default="" if PRODUCTION else _DEMO_INSURER.get(variable, ""))


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.split(",") if line.strip()]


_refusals = [
    f"{variable} is not set (the insurer's {what})"
    for variable, what in zip(
        INSURER_REQUIRED_IN_PRODUCTION,
        ("name", "hotline number", "hotline hours", "postal address", "imprint address", "data-protection contact"),
        strict=True,
    )
    if PRODUCTION and not _insurer_value(variable).strip()
]
INSURER = None
if not _refusals:
    try:
        INSURER = Insurer.build(
            name=_insurer_value("INSURER_NAME"),
            short_name=_insurer_value("INSURER_SHORT_NAME"),
            hotline_phone=_insurer_value("INSURER_HOTLINE_PHONE"),
            hotline_hours_de=_insurer_value("INSURER_HOTLINE_HOURS"),
            hotline_hours_en=_insurer_value("INSURER_HOTLINE_HOURS_EN"),
            postal_address=_lines(_insurer_value("INSURER_POSTAL_ADDRESS")),
            sender_line=_insurer_value("INSURER_SENDER_LINE"),
            website=_insurer_value("INSURER_WEBSITE"),
            imprint_url=_insurer_value("INSURER_IMPRINT_URL"),
            privacy_contact=_lines(_insurer_value("INSURER_PRIVACY_CONTACT")),
            brand_colour=env.str("INSURER_BRAND_COLOR", default="#0b4f8a"),
            logo_path=_insurer_value("INSURER_LOGO"),
        )
    except BrandingError as error:
        raise ImproperlyConfigured(str(error)) from None

# Production runs on real services. An installation that knowingly runs on one host with the embedded ones (SQLite,
# the in-process cache, tasks run inside the web request) says so with PORTAL_ALLOW_EMBEDDED_SERVICES=1.
ALLOW_EMBEDDED_SERVICES = env.bool("PORTAL_ALLOW_EMBEDDED_SERVICES", default=False)
if PRODUCTION and not ALLOW_EMBEDDED_SERVICES:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        _refusals.append("DATABASE_URL is not set (SQLite): set DATABASE_URL=postgres://user:password@host:5432/name")
    if CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        _refusals.append(
            "CACHE_URL is not set (in-process cache: each worker would count login attempts on its own): "
            "set CACHE_URL=redis://host:6379/1"
        )
    if CELERY_TASK_ALWAYS_EAGER:
        _refusals.append(
            "CELERY_BROKER_URL is not set (tasks would run inside web requests and nothing would retry them): "
            "set CELERY_BROKER_URL=redis://host:6379/0 and run a worker and beat"
        )
if PRODUCTION and STORAGE_BACKEND == "local" and WEB_NODES > 1 and not STORAGE_LOCAL_SHARED:
    _refusals.append(
        f"WEB_NODES={WEB_NODES} with local file storage: each node would keep its own files. Set STORAGE_BACKEND=s3 "
        "(with S3_BUCKET), or mount one shared volume at PRIVATE_MEDIA_ROOT on every node and set "
        "STORAGE_LOCAL_SHARED=true"
    )
if _refusals:
    _hint = (
        "\nTo run on one host with SQLite, the in-process cache and tasks in the web process anyway, set "
        "PORTAL_ALLOW_EMBEDDED_SERVICES=1."
        if any(refusal.startswith(("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL")) for refusal in _refusals)
        else ""
    )
    raise ImproperlyConfigured(
        "Production (PORTAL_PRODUCTION=1) refuses to start:\n- " + "\n- ".join(_refusals) + _hint
    )

# The brand colour's stylesheet and the logo are answered before the session is read (web/brand.py).
MIDDLEWARE = [MIDDLEWARE[0], "web.brand.BrandAssetsMiddleware", *MIDDLEWARE[1:]]
