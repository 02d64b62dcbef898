"""Settings for notifier, driven by environment variables (django-environ).

With nothing set, the app runs in its embedded shape: SQLite under var/, Celery eager, email written
to files under var/outbox/. DATABASE_URL switches to PostgreSQL (psycopg 3) and CELERY_BROKER_URL to
Redis with real workers. `.env.example` lists every variable (tests/test_env_example.py checks it).

Settings are grouped by concern below; each is defined once and read somewhere.
"""

from __future__ import annotations

from pathlib import Path

import environ
from kombu import Exchange, Queue

from config import guard

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")
# Read after .env, like every other variable: SQLite file, outbox, rejects, print batches.
VAR_DIR = Path(env.str("NOTIFIER_VAR_DIR", default=str(BASE_DIR / "var")))

# --- core ------------------------------------------------------------------------------------------
# "development" (demo, tests) or "production". Production refuses insecure defaults.
NOTIFIER_ENV = env.str("NOTIFIER_ENV", default="development")
PRODUCTION = NOTIFIER_ENV == "production"

# Secrets left empty (as in .env.example) count as unset: development gets a marked default, which the
# production guard at the end refuses, instead of an empty key it would accept.
_DEV_ONLY = guard.DEV_ONLY_PREFIX
SECRET_KEY = env.str("SECRET_KEY", default="") or _DEV_ONLY + "secret-key"
# Keyed HMAC of normalised NIR + birth date: links one person's rows without storing the NIR.
PERSON_KEY_SECRET = env.str("PERSON_KEY_SECRET", default="") or _DEV_ONLY + "person-key"
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute address of the public site, printed on letters and emails (status page).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000")

INSTALLED_APPS = [
    "config.admin_apps.NotifierAdminConfig",  # django.contrib.admin with the OTP admin site (access & audit)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "import_export",
    "anymail",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "simple_history",
    "rules",
    "labs",
    "patients",
    "letters",
    "notifier",
    "status_page",
    "dashboards",
    "call_centre",
    "evidence",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.FrenchFirstLocaleMiddleware",  # French unless English is chosen (switch, cookie)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'notifier.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    # Behind PgBouncer in transaction pooling (NOTIFIER_PGBOUNCER=1, DATABASE_URL pointing at it), a server
    # connection is ours for one transaction only: no server-side cursors (QuerySet.iterator() would DECLARE
    # one outside a transaction). The rest already fits: psycopg binds on the client side with no prepared
    # statements (Django's default), advisory locks and SET are transaction-level, COPY runs in one.
    NOTIFIER_PGBOUNCER = env.bool("NOTIFIER_PGBOUNCER", default=False)
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = NOTIFIER_PGBOUNCER
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` gathers files for production (the image sets STATIC_ROOT); unset in the
# embedded shape, where WhiteNoise serves straight from the apps' folders.
STATIC_ROOT = env.str("STATIC_ROOT", default="") or None
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []
# WhiteNoise serves the static files from the app itself (no separate web server in docker-compose):
# from STATIC_ROOT after `collectstatic` in production, straight from the apps' folders otherwise.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    # fontTools says "FFTM NOT subset" for every font the letters embed: expected, not actionable.
    "loggers": {"fontTools.subset": {"level": "ERROR"}},
}

# Cookies and transport security: secure in production; plain HTTP is fine for the local demo.
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
# "same-origin", not "no-referrer": no address ever reaches another site, but with "no-referrer" browsers
# send `Origin: null` on every form POST, which Django's CSRF protection must (and does) refuse.
SECURE_REFERRER_POLICY = "same-origin"

# --- email -----------------------------------------------------------------------------------------
# Embedded shape: one .log file per message under var/outbox/, mode 0600 (config/mail.py). Server shape:
# EMAIL_BACKEND set to django's SMTP backend or an anymail backend (e.g. anymail.backends.mailgun.EmailBackend).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="config.mail.PrivateFileEmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "outbox"
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="notification@notifier.localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ANYMAIL = env.dict("ANYMAIL", default={})
# Who receives security alerts (status-page failure budget, errors): comma-separated addresses. Production
# refuses to start without one; the dashboards show the same alerts for an hour (labs/alerts.py).
ADMINS = guard.alert_recipients(env.list("ALERT_EMAILS", default=[]))

# --- celery ----------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager tasks still serialise their arguments through a producer (so a non-JSON argument fails
    # here as it would in production); an in-memory transport spares it a connection to amqp://localhost.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE

# --- files (labs/storage.py) -----------------------------------------------------------------------
# Every file the app writes (print batches, letter variants, rejects files, CNIL receipts) goes through the
# "private" storage: the file system under VAR_DIR (files 0600, folders 0700) in the embedded shape, an
# S3-compatible bucket when NOTIFIER_S3_BUCKET is set — then every host reads what any other wrote, and
# web, workers and beat share no volume. Objects are private; signed URLs, if ever made, live 5 minutes.
NOTIFIER_S3_BUCKET = env.str("NOTIFIER_S3_BUCKET", default="")
NOTIFIER_S3_ENDPOINT_URL = env.str("NOTIFIER_S3_ENDPOINT_URL", default="") or None  # any S3-compatible service
if NOTIFIER_S3_BUCKET:
    # "AES256" (or "aws:kms") asks the service to encrypt each object at rest; empty where it encrypts anyway.
    _sse = env.str("NOTIFIER_S3_SERVER_SIDE_ENCRYPTION", default="")
    PRIVATE_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": NOTIFIER_S3_BUCKET,
            "endpoint_url": NOTIFIER_S3_ENDPOINT_URL,
            "region_name": env.str("NOTIFIER_S3_REGION", default="") or None,
            # Empty: boto3 finds credentials itself (instance role, ~/.aws).
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("NOTIFIER_S3_PREFIX", default=""),
            "default_acl": "private",
            "file_overwrite": True,
            "querystring_auth": True,
            "querystring_expire": 300,
            "object_parameters": {"ServerSideEncryption": _sse} if _sse else {},
            # Path-style addresses work with every S3-compatible service (MinIO, Garage, Ceph…).
            "addressing_style": env.str("NOTIFIER_S3_ADDRESSING_STYLE", default="path"),
            "signature_version": "s3v4",
        },
    }
else:
    PRIVATE_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": VAR_DIR,
            "base_url": None,  # never served by URL: downloads go through audited views
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
            "allow_overwrite": True,
        },
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": PRIVATE_STORAGE,
}

# --- patients (import) -----------------------------------------------------------------------------
# Where an import writes its rejects file while it runs (local scratch); the finished file goes to the private
# storage under "rejects/". Leftovers of a crashed run are purged by age like the files themselves.
IMPORT_REJECTS_DIR = VAR_DIR / "rejects"
# Rejects files (where and why records were refused, masked NIR) are deleted after this many days.
IMPORT_REJECTS_RETENTION_DAYS = env.int("IMPORT_REJECTS_RETENTION_DAYS", default=30)

# --- letters ---------------------------------------------------------------------------------------
# Status page printed on French letters and emails (and in the QR code, with the personal code after '#');
# English ones print the same site's English page, …/check/ in place of …/verifier/ (letters.content.status_url).
LETTERS_STATUS_URL = env.str("LETTERS_STATUS_URL", default=PUBLIC_BASE_URL.rstrip("/") + "/verifier/")
# Laid-out letter variants (no patient data: laboratory, breach text, categories), shared by every worker of
# every host: their key prefix in the private storage (empty: no shared cache, each process lays out its own).
LETTERS_VARIANT_CACHE_PREFIX = env.str("LETTERS_VARIANT_CACHE_PREFIX", default="letters/variants")

# --- campaigns (notifier) --------------------------------------------------------------------------
# Status codes are derived from this secret (notifier/codes.py): set it once per deployment and keep it.
STATUS_CODE_SECRET = env.str("STATUS_CODE_SECRET", default="") or _DEV_ONLY + "status-code"
# Basic-auth "user:password" that ESP tracking webhooks must present (anymail checks it; bad auth → 400).
ANYMAIL_WEBHOOK_SECRET = env.str("ANYMAIL_WEBHOOK_SECRET", default="") or _DEV_ONLY + "webhook:secret"
ANYMAIL.setdefault("WEBHOOK_SECRET", ANYMAIL_WEBHOOK_SECRET)
# Reliability: a task is acknowledged only once done, re-queued if its worker dies, one at a time per
# process; the broker redelivers an unacknowledged message after the visibility timeout (longer than
# the longest task), and the database claim makes that redelivery harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ: quorum queues (replicated, durable; a message stays until acknowledged — no visibility
    # timeout to redeliver a long task twice) and publisher confirms (a task is enqueued only once the
    # broker says it holds it). Quorum queues refuse global QoS: Celery detects them and uses per-consumer
    # prefetch instead (worker_detect_quorum_queues); retries with a countdown go through RabbitMQ's native
    # delayed delivery, which Celery sets up for quorum queues.
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    CELERY_WORKER_DETECT_QUORUM_QUEUES = True
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
    CELERY_TASK_PUBLISH_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Two queues, both consumed by every worker (unless started with -Q): print batches (seconds each, hundreds
# per campaign) go to "letters", so that the neutral emails, delivery events and dispatches in "celery"
# never wait behind a campaign's letters (a worker takes from each queue in turn).
_QUEUE_ARGUMENTS = (
    {"x-queue-type": "quorum"} if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")) else {}
)
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name, queue_arguments=_QUEUE_ARGUMENTS or None)
    for name in ("celery", "letters")
)
CELERY_TASK_ROUTES = {"notifier.tasks.print_batch_build_task": {"queue": "letters"}}
CAMPAIGN_EMAIL_CHUNK = env.int("CAMPAIGN_EMAIL_CHUNK", default=100)  # ids per send task
CAMPAIGN_PRINT_CHUNK = env.int("CAMPAIGN_PRINT_CHUNK", default=500)  # letters per print batch
# A row queued this long (its task lost with the broker), or claimed without a lease, is re-queued by the
# tick; so is an ESP claim, whose API call cannot be taken back (its tracking webhook settles the row first).
CAMPAIGN_STUCK_SECONDS = env.int("CAMPAIGN_STUCK_SECONDS", default=600)
# A follow-up "not read" targets patients reached by a notice sent this many days ago or more, with no
# acknowledgement on the status page (callers and readers come mostly in the first 5-8 days).
FOLLOW_UP_NOT_READ_DAYS = env.int("FOLLOW_UP_NOT_READ_DAYS", default=14)
# An SMTP claim's lease, renewed by a live worker every third of it: a dead worker's rows go back to the
# queue at the first tick after it runs out (lease + tick ≈ 1 minute); its late "sent" mark would be refused.
CAMPAIGN_LEASE_SECONDS = env.int("CAMPAIGN_LEASE_SECONDS", default=45)
CAMPAIGN_MAX_ATTEMPTS = env.int("CAMPAIGN_MAX_ATTEMPTS", default=5)
# Mailing planner (notifier/planner.py): who phones after a letter, and when. Published figures on mass
# breach mailings: 10-15 % of the recipients call, most of them in the first 5-8 days after delivery; one US
# notification vendor took 7,230 calls on the peak day for 814,000 letters (about 0.9 % of the letters in one
# day, letters posted over several days) and staffed 350 agents. Defaults: 12 % of the letters call, over the
# 8 days after delivery, a quarter of them on the first day and fewer each day (the shares are normalised).
CAMPAIGN_CALL_RATE = env.float("CAMPAIGN_CALL_RATE", default=0.12)
CAMPAIGN_CALL_CURVE = env.list(
    "CAMPAIGN_CALL_CURVE", cast=float, default=[0.25, 0.20, 0.15, 0.12, 0.10, 0.08, 0.06, 0.04]
)
# Days from the hand-over to La Poste to the letters' delivery: La Poste's « lettre verte » is J+3 (J+2 for the
# urgent one); a print-and-mail provider's industrial mail is J+2 to J+4.
POSTAL_DELAY_DAYS = env.int("POSTAL_DELAY_DAYS", default=3)
# CNIL acknowledgements of filings (PDF): in the private storage (labs/receipts.py), downloaded through the admin.
CNIL_RECEIPT_MAX_BYTES = env.int("CNIL_RECEIPT_MAX_BYTES", default=5 * 1024 * 1024)
# Evidence packs (zip per laboratory and breach, evidence/): in the private storage, downloaded through the staff
# pages only; one still pending or building after this long lost its worker and is marked failed.
EVIDENCE_STUCK_SECONDS = env.int("EVIDENCE_STUCK_SECONDS", default=1800)

# --- client address --------------------------------------------------------------------------------
# Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed; none by
# default: gunicorn facing clients directly must not take a client's word for its address. One function
# (labs/client_ip.py) gives the address to the audit trail, the status page's limits and django-axes.
TRUSTED_PROXIES = guard.trusted_proxies(env.list("TRUSTED_PROXIES", default=[]))

# --- access & audit --------------------------------------------------------------------------------
# Roles, scoping and the audit trail live in labs/access.py and labs/audit.py. Log-in: lockout by
# django-axes (first backend; needs the request), then passwords, then `rules` object permissions.
AUTHENTICATION_BACKENDS = [
    "labs.access.AxesRequestBackend",
    "django.contrib.auth.backends.ModelBackend",
    "rules.permissions.ObjectPermissionBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "labs.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The lock-out page says, in French, for how long (AXES_COOLOFF_TIME) and whom to call.
AXES_LOCKOUT_TEMPLATE = "axes/lockout.html"
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Notifier")
# History pages of breaches, case files and filings are read-only (a revert would bypass the services).
SIMPLE_HISTORY_REVERT_DISABLED = True
# Audit events older than this are purged daily (French health rules ask for at least 6 months;
# the PostgreSQL trigger refuses purging anything younger than 183 days whatever this says).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# Art. 33(1): hours from awareness to the CNIL deadline (a proposal to move to 96 h exists, not law).
CNIL_DEADLINE_HOURS = env.int("CNIL_DEADLINE_HOURS", default=72)
# ARS / CERT Santé (CSP art. L.1111-8-2, D.1111-16-2 to -4 as amended by decree 2022-715): « sans délai », no
# number in the texts. Empty: no target, the clock shows the time elapsed since awareness; a number: an
# internal target in hours, reminded and shown like a deadline.
_ARS_TARGET = env.str("ARS_CERT_SANTE_TARGET_HOURS", default="").strip()
ARS_CERT_SANTE_TARGET_HOURS = int(_ARS_TARGET) if _ARS_TARGET else None
# NIS2 (directive 2022/2555 art. 23): off until France's transposition reaches medical laboratories.
NIS2_ENABLED = env.bool("NIS2_ENABLED", default=False)
# The regimes a laboratory may owe something under, as data (labs/obligations.py reads them; README
# "Obligations et régimes"). Each step: "hours" (elapsed hours), "months" (calendar months, Paris time) or
# neither (« sans délai »; "target_hours" an optional internal target), counted "from" the awareness
# ("aware_at") or from an earlier step's filing (its due time while unfiled). "evidence": what files it.
NOTIFIER_REGIMES = {
    "cnil_art33": {
        "short": "CNIL art. 33",
        "label": "CNIL — notification de la violation (art. 33 RGPD)",
        "authority": "CNIL",
        "source": "RGPD art. 33(1) : 72 heures après en avoir pris connaissance",
        "enabled": True,
        "evidence": "cnil_filing",
        "steps": [{"step": "initial", "hours": CNIL_DEADLINE_HOURS, "from": "aware_at"}],
    },
    "art34": {
        "short": "Art. 34 (personnes)",
        "label": "Information des personnes (art. 34 RGPD)",
        "authority": "personnes concernées",
        "source": "RGPD art. 34(1) : « dans les meilleurs délais » en cas de risque élevé",
        "enabled": True,
        "evidence": "people_informed",
        "steps": [{"step": "communication", "from": "aware_at"}],
    },
    "ars_cert_sante": {
        "short": "ARS / CERT Santé",
        "label": "ARS et CERT Santé — signalement d'incident de sécurité (CSP L.1111-8-2)",
        "authority": "ARS / CERT Santé (portail de signalement des événements sanitaires indésirables)",
        "source": "CSP art. L.1111-8-2 et D.1111-16-2 à D.1111-16-4 (décret 2022-715) : « sans délai »",
        "enabled": True,
        "evidence": "authority_notification",
        "authorities": ["ars", "cert_sante"],
        "steps": [{"step": "initial", "target_hours": ARS_CERT_SANTE_TARGET_HOURS, "from": "aware_at"}],
    },
    "nis2": {
        "short": "NIS2",
        "label": "NIS2 — notification d'incident important (ANSSI)",
        "authority": "ANSSI (CSIRT national)",
        "source": "Directive (UE) 2022/2555 art. 23(4) : alerte 24 h, notification 72 h, rapport final 1 mois",
        "enabled": NIS2_ENABLED,
        "evidence": "authority_notification",
        "authorities": ["anssi"],
        "steps": [
            {"step": "early_warning", "hours": 24, "from": "aware_at"},
            {"step": "notification", "hours": 72, "from": "aware_at"},
            {"step": "final_report", "months": 1, "from": "notification"},
        ],
    },
}

# --- periodic tasks (celery beat) ------------------------------------------------------------------
# One schedule for every app. The DPO reminder offsets (T−24 h, T−6 h, overdue) live in labs/services.py.
CELERY_BEAT_SCHEDULE = {
    "campaigns-tick": {
        "task": "notifier.tasks.campaigns_tick_task",
        "schedule": env.float("CAMPAIGN_TICK_SECONDS", default=15.0),
    },
    "labs-deadline-reminders": {"task": "labs.tasks.deadline_reminders_send_task", "schedule": 300.0},
    "labs-audit-purge": {"task": "labs.tasks.audit_purge_task", "schedule": 24 * 3600.0},
    "patients-import-rejects-purge": {"task": "patients.tasks.import_rejects_purge_task", "schedule": 24 * 3600.0},
    # Under the 60 s the CNIL dashboard's counts snapshot lives, so the page never computes them itself.
    "cnil-counts-refresh": {"task": "dashboards.tasks.cnil_counts_refresh_task", "schedule": 50.0},
    # An evidence pack whose worker died stays "en préparation": after EVIDENCE_STUCK_SECONDS it says so.
    "evidence-interrupted": {"task": "evidence.tasks.evidence_packs_interrupted_fail_task", "schedule": 600.0},
}

# --- public pages (status page, dashboards) -------------------------------------------------------
# Rate-limit counters must be shared by every web worker: Redis in the server shape (CACHE_URL),
# the local-memory cache in the embedded shape (one process).
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://default"),
    "ratelimit": env.cache("RATELIMIT_CACHE_URL", default=env.str("CACHE_URL", default="locmemcache://ratelimit")),
}
STATUS_PAGE_TRIES_PER_IP_PER_MINUTE = env.int("STATUS_PAGE_TRIES_PER_IP_PER_MINUTE", default=10)
STATUS_PAGE_FAILURES_PER_CODE_PER_HOUR = env.int("STATUS_PAGE_FAILURES_PER_CODE_PER_HOUR", default=5)
STATUS_PAGE_GLOBAL_FAILURES_PER_HOUR = env.int("STATUS_PAGE_GLOBAL_FAILURES_PER_HOUR", default=5000)
STATUS_SESSION_IDLE_SECONDS = env.int("STATUS_SESSION_IDLE_SECONDS", default=900)
# Sessions (staff and patients) live in the shared cache: short-lived, no database write per log-in,
# and a verified patient's session is only two ids. Redis in the server shape (CACHE_URL).
SESSION_ENGINE = env.str("SESSION_ENGINE", default="django.contrib.sessions.backends.cache")
SESSION_CACHE_ALIAS = "default"

# --- production guard ------------------------------------------------------------------------------
# Secrets that must be strong, distinct and not their development default in production (config/guard.py).
PRODUCTION_SECRETS = ["SECRET_KEY", "PERSON_KEY_SECRET", "STATUS_CODE_SECRET", "ANYMAIL_WEBHOOK_SECRET"]
if PRODUCTION:
    guard.production_guard(
        secrets={name: globals()[name] for name in PRODUCTION_SECRETS}, debug=DEBUG, caches=CACHES, admins=ADMINS
    )
