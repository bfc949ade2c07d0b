"""Settings for the business self-care portal.

Every setting comes from the environment (documented in `.env.example`). With
nothing set, the portal runs for development: DEBUG on, an embedded SQLite
database and a filesystem Celery broker under `var/`. `PRODUCTION=true`
switches to production mode, which refuses to start without a real
`SECRET_KEY` and the encryption keys for stored secrets.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from xstatic.pkg import bootstrap as xstatic_bootstrap

# Generic admin and queryset classes (ModelAdmin[Line]) subscriptable at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

# Where the embedded mode keeps its database, broker queue, cache, mail and
# private files.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

PRODUCTION: bool = env.bool("PRODUCTION", default=False)

# ---------------------------------------------------------------------------
# Secrets. Development gets a fixed, obviously unsafe key; production refuses
# to start without real ones.
# ---------------------------------------------------------------------------
_DEVELOPMENT_SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"  # noqa: S105  # nosec B105
SECRET_KEY: str = env.str("SECRET_KEY", default=_DEVELOPMENT_SECRET_KEY)
# The previous keys while SECRET_KEY is rotated (docs/runbook.md): sessions, password-reset
# links and signed values made with them stay valid until they are dropped.
SECRET_KEY_FALLBACKS: list[str] = env.list("SECRET_KEY_FALLBACKS", default=[])

# Fernet keys for secrets at rest (PIN, PUK, IBAN, eSIM codes, TOTP seeds),
# comma-separated, newest first: MultiFernet decrypts with any of them and
# encrypts with the first, so a key is rotated by prepending a new one.
FIELD_ENCRYPTION_KEYS: list[str] = env.list("FIELD_ENCRYPTION_KEYS", default=[])

if PRODUCTION:
    if SECRET_KEY == _DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "PRODUCTION=true needs a real SECRET_KEY of at least 50 random characters."
        )
    if not FIELD_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "PRODUCTION=true needs FIELD_ENCRYPTION_KEYS (Fernet keys for secrets at rest)."
        )
elif not FIELD_ENCRYPTION_KEYS:
    # A stable development key derived from the development secret, so that
    # data encrypted by one `make run` can be read by the next.
    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]

DEBUG: bool = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public address of the portal, used in e-mails and the payment provider's return links.
SITE_URL: str = env.str("SITE_URL", default="http://127.0.0.1:8000")

# ---------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "auditlog",
    "django_celery_beat",
    "django_htmx",
    "template_partials",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Country names in Italian and English, for the roaming zones and rates.
    "django_countries",
    "selfcare",
    "billing",
    "roaming",
    "procedures",
    "insight",
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
    # Every page needs a login unless its view is marked `login_not_required`
    # (CONTRACTS.md, "HTTP": what is public).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "selfcare.middleware.MembershipMiddleware",
    "selfcare.auth.TwoFactorEnrolmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "selfcare.urls"
WSGI_APPLICATION = "selfcare.wsgi.application"

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
                "selfcare.context_processors.portal",
                # The unread count of the inbox badge, counted only if a page shows it.
                "selfcare.views.notifications.inbox",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database. No DATABASE_URL: the embedded SQLite database of `make run`.
# ---------------------------------------------------------------------------
DATABASES: dict[str, dict[str, Any]] = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker write at once: WAL lets readers go
    # on during a write, IMMEDIATE takes the write lock at BEGIN instead of
    # failing mid-transaction, and the timeout waits for the lock.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Redis: cache and broker on separate databases of REDIS_URL (or separate
# instances through CACHE_URL / CELERY_BROKER_URL: a cache may evict, a
# broker must not). No Redis: a file cache and kombu's filesystem transport.
# ---------------------------------------------------------------------------
REDIS_URL: str = env.str("REDIS_URL", default="")


def _redis_database(url: str, database: int) -> str:
    """The same Redis server as `url`, on another logical database."""
    base = url.rstrip("/")
    head, _sep, tail = base.rpartition("/")
    if tail.isdigit() and head.count("/") >= 2:
        base = head
    return f"{base}/{database}"


if REDIS_URL:
    _cache_url = env.str("CACHE_URL", default=_redis_database(REDIS_URL, 1))
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            # A Redis that does not answer is a cache miss, not a 500 (selfcare/cache.py).
            "BACKEND": "selfcare.cache.ForgivingRedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="selfcare"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default=_redis_database(REDIS_URL, 0))
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")

CELERY_BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers an unacknowledged task only after the visibility
    # timeout: it must outlast the longest task (a billing run's chunk), or a
    # slow task would run twice. Long runs keep progress in the database and
    # are resumed from there, so an hour and a half is ample.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 5400}

# ---------------------------------------------------------------------------
# Celery
# ---------------------------------------------------------------------------
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Europe/Rome"
CELERY_ENABLE_UTC = True
# A task is acknowledged once it has run, and given back to the queue if its
# worker dies: every task is idempotent, so running one twice is safe, and
# losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=1800)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=2100)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Tests and one-off scripts may run tasks in-process; the portal never does.
CELERY_TASK_ALWAYS_EAGER: bool = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The periodic work of the portal. django-celery-beat copies this into its
# tables at start, where staff can see it (and pause an entry) in the admin.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "worker-heartbeat": {
        "task": "selfcare.tasks.heartbeat",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Sends what the commit-time enqueue could not (broker down) and takes
    # back messages whose worker died while sending them.
    "notifications-sweep": {
        "task": "selfcare.tasks.sweep_notifications",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # The previous month's chargeable roaming, as one ExtraCharge per line, on the 1st at
    # 02:30 Rome time: before the billing run, which takes the month's unbilled charges.
    "roaming-charges-monthly": {
        "task": "roaming.tasks.roaming_month_close",
        "schedule": crontab(minute="30", hour="2", day_of_month="1"),
    },
    # The previous month's invoices, on the 1st at 03:00 Rome time (CELERY_TIMEZONE).
    "billing-run-monthly": {
        "task": "billing.tasks.billing_run",
        "schedule": crontab(minute="0", hour="3", day_of_month="1"),
    },
    # Invoices due yesterday or before and still unpaid, every day just after
    # midnight Rome time: an invoice can be paid until its due date ends.
    "invoices-expire-daily": {
        "task": "billing.tasks.expire_invoices",
        "schedule": crontab(minute="15", hour="0"),
    },
    # Fair use (DOMAIN.md): yesterday's daily rules at 01:00 Rome time, once the night's
    # feed files are in; the previous month's rules on the 1st at 01:30.
    "fair-use-daily": {
        "task": "billing.tasks_fair_use.fair_use_run_daily",
        "schedule": crontab(minute="0", hour="1"),
    },
    "fair-use-monthly": {
        "task": "billing.tasks_fair_use.fair_use_run_monthly",
        "schedule": crontab(minute="30", hour="1", day_of_month="1"),
    },
    # Fair-use runs still running after FAIR_USE_RESUME_AFTER: their pending chunks go out again.
    "fair-use-sweep": {
        "task": "billing.tasks_fair_use.fair_use_runs_sweep",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Traffic feed files dropped in TRAFFIC_INBOX; a run finding nothing costs a directory listing.
    "traffic-inbox": {
        "task": "billing.tasks_traffic.import_traffic_inbox",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Insight alerts (insight.tasks): checked after each billing run and traffic import; this
    # daily pass catches a check whose queueing failed (broker down). Idempotent.
    "insight-alerts-sweep": {
        "task": "insight.tasks.insight_alerts_sweep",
        "schedule": crontab(minute="45", hour="6"),
    },
    # Electronic invoices still to send go to the SdI every hour, at minute 20
    # (after the billing run of the 1st has had time to finish its first chunks).
    "sdi-transmit-hourly": {
        "task": "billing.tasks_documents.sdi_transmit_pending",
        "schedule": crontab(minute="20"),
    },
    # Copies of invoices whose task was lost (broker down at the request) are queued again.
    "invoice-copies-sweep": {
        "task": "billing.tasks_documents.invoice_copies_sweep",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Fair-use suspensions take effect on their day: just after midnight Rome time, and
    # again at noon so that a day the worker was down at night still suspends on time.
    "fair-use-suspensions-daily": {
        "task": "billing.tasks_fair_use_measures.apply_fair_use_suspensions",
        "schedule": crontab(minute="5", hour="0,12"),
    },
    # Traffic reports (XLSX) in the background whose task was lost are queued again; rebuilding is safe.
    "traffic-exports-sweep": {
        "task": "billing.tasks_traffic_export.traffic_exports_sweep",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Raw traffic records past six months plus TRAFFIC_RETENTION_MARGIN_DAYS are dropped
    # (privacy code art. 123), daily at 02:30 Rome time, when the portal is quiet.
    "traffic-retention-daily": {
        "task": "billing.tasks_traffic_retention.purge_traffic",
        "schedule": crontab(minute="30", hour="2"),
    },
    # Compensation of late activation orders that are over (AGCOM 347/18/CONS), credited once each
    # for the next invoice, daily at 00:45 Rome time: before the billing run of the 1st at 03:00.
    "activation-compensation-daily": {
        "task": "procedures.tasks_activation.credit_activation_compensation",
        "schedule": crontab(minute="45", hour="0"),
    },
    # Theft or loss: reminders before the police complaint's seven-day deadline and the
    # escalation to staff after it, each once, daily at 09:00 Rome time (people are awake).
    "theft-complaints-daily": {
        "task": "procedures.tasks_theft.theft_complaints_remind",
        "schedule": crontab(minute="0", hour="9"),
    },
    # Withdrawals: the lines cease on the effective day, 30 days after receipt, just after
    # midnight Rome time and again at noon, so a night the worker was down still ceases on time.
    "withdrawals-daily": {
        "task": "procedures.tasks_withdrawal.withdrawals_cease_lines",
        "schedule": crontab(minute="10", hour="0,12"),
    },
}
# Companies per chunk of the billing run: a chunk is billed in one transaction.
BILLING_CHUNK_SIZE = env.int("BILLING_CHUNK_SIZE", default=500)
# Lines per chunk of a fair-use run: a chunk is checked in one transaction, chunks spread over workers.
FAIR_USE_CHUNK_LINES = env.int("FAIR_USE_CHUNK_LINES", default=50_000)
# A fair-use run still running after this many seconds has its pending chunks sent out again.
FAIR_USE_RESUME_AFTER = env.int("FAIR_USE_RESUME_AFTER", default=600)
# Where the network drops traffic feed files (docs/feeds.md): complete files are renamed
# to NAME.csv there, then imported and moved to done/ or refused/ with their summary.
TRAFFIC_INBOX = Path(env.str("TRAFFIC_INBOX", default=str(VAR_DIR / "inbox" / "traffic")))
# A traffic report (XLSX) of up to this many rows is built in the request; a larger one
# by a Celery task, with its progress shown and a notification when ready (docs/traffic.md).
TRAFFIC_XLSX_DIRECT_ROWS = env.int("TRAFFIC_XLSX_DIRECT_ROWS", default=20_000)
# Days the raw traffic records are kept beyond six months (privacy code art. 123,
# docs/traffic.md "Retention"); daily totals and record ids are kept longer.
TRAFFIC_RETENTION_MARGIN_DAYS = env.int("TRAFFIC_RETENTION_MARGIN_DAYS", default=30)
# The operator as seller on every invoice, its PDF and its FatturaPA
# (CedentePrestatore); the defaults are the demo operator's, a deployment
# sets its own. BANK_IBAN is where customers paying by transfer send money.
INVOICE_SELLER: dict[str, str] = {
    "name": env.str("SELLER_NAME", default="Rete Business S.p.A."),
    "vat_number": env.str("SELLER_VAT_NUMBER", default="04567890126"),
    "tax_code": env.str("SELLER_TAX_CODE", default="04567890126"),
    "street": env.str("SELLER_STREET", default="Via dei Mille 12"),
    "postcode": env.str("SELLER_POSTCODE", default="00185"),
    "city": env.str("SELLER_CITY", default="Roma"),
    "province": env.str("SELLER_PROVINCE", default="RM"),
    "country": "IT",
    # RF01: ordinary VAT regime (FatturaPA RegimeFiscale).
    "tax_regime": env.str("SELLER_TAX_REGIME", default="RF01"),
    "rea_office": env.str("SELLER_REA_OFFICE", default="RM"),
    "rea_number": env.str("SELLER_REA_NUMBER", default="1234567"),
    "bank_iban": env.str("SELLER_BANK_IBAN", default="IT76W0306909606100000123456"),
    "email": env.str("SELLER_EMAIL", default="fatturazione@example.com"),
}
# Where the sandbox channel to the exchange (SdI) leaves the electronic invoices it "sends" (billing.sdi).
SDI_OUTBOX = Path(env.str("SDI_OUTBOX", default=str(VAR_DIR / "sdi")))

# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------
AUTH_USER_MODEL = "selfcare.User"

AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "selfcare:dashboard"

# django-allauth: e-mail and password, no sign-up (users come from the
# provisioning feed or an invitation), TOTP two-factor with recovery codes.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "selfcare.auth.AccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
MFA_ADAPTER = "selfcare.auth.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Area Clienti Business"
MFA_FORMS = {
    "authenticate": "selfcare.auth.TwoFactorAuthenticateForm",
    "reauthenticate": "selfcare.auth.TwoFactorReauthenticateForm",
    "activate_totp": "selfcare.auth.ActivateAuthenticatorForm",
}
# After logging out, the login page (every other page needs a login).
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# Failed logins, counted in the shared cache (Redis): per address 5 in 15
# minutes, then that address is blocked until the window passes or a password
# reset; per client IP 10 a minute. The second factor shares the same limits.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/15m/key"}
# Client IPs for the rate limits come from X-Forwarded-For, trusting this many
# proxies (the load balancer in production). Without it every client would
# share the proxy's address, and one attacker would block everybody's login.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if PRODUCTION else 0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
# The timeout counts from the last request, not from login.
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# ---------------------------------------------------------------------------
# Audit trail (django-auditlog): every change of these models, with who and
# when. Business events that are not a row change (a PUK shown, numbers in
# clear downloaded) are recorded explicitly by selfcare.services.audit.
# ---------------------------------------------------------------------------
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {"model": "selfcare.user", "exclude_fields": ["password", "last_login"]},
    "selfcare.company",
    "selfcare.membership",
    "selfcare.offer",
    # PIN and PUK are secrets, never logged (auditlog's masking keeps half of a value).
    {"model": "selfcare.line", "exclude_fields": ["pin", "puk"]},
    {"model": "selfcare.apitoken", "exclude_fields": ["key_hash", "last_used_at"]},
    # The IBAN and the provider's card token stay out of the log; the masked forms are in it.
    {"model": "billing.paymentmethod", "exclude_fields": ["iban", "card_token"]},
    # The fair-use policy's rules and limits, which staff change in the admin.
    "billing.fairuserule",
    "billing.fairuselimit",
)
AUDITLOG_DISABLE_REMOTE_ADDR = False

# ---------------------------------------------------------------------------
# Languages and time
# ---------------------------------------------------------------------------
LANGUAGE_CODE = "it"
LANGUAGES = [("it", _("Italian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "selfcare_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Europe/Rome"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------
# Static files and private storage
# ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Bootstrap comes from the xstatic-bootstrap package, never from a CDN.
    ("bootstrap", xstatic_bootstrap.BASE_DIR),
]
# Uploaded and generated documents: private, never served by URL; a view
# checks company and role before streaming one.
PRIVATE_STORAGE_ROOT = Path(env.str("PRIVATE_STORAGE_ROOT", default=str(VAR_DIR / "private")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}
FILE_UPLOAD_PERMISSIONS = 0o600
DATA_UPLOAD_MAX_MEMORY_SIZE = 11 * 1024 * 1024

# ---------------------------------------------------------------------------
# Security headers. The CSP allows nothing from another origin: scripts and
# styles are the portal's own files or carry the request's nonce.
# ---------------------------------------------------------------------------
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The load balancer probes /healthz over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

# ---------------------------------------------------------------------------
# E-mail and SMS
# ---------------------------------------------------------------------------
# EMAIL_URL as django-environ reads it: smtp://user:pass@host:587 (smtp+tls,
# smtp+ssl), consolemail://, filemail:///path. Development writes every
# e-mail as a file under var/mail, to be read by hand.
_email: dict[str, Any] = env.email_url(
    "EMAIL_URL",
    default="smtp://localhost:25" if PRODUCTION else f"filemail://{VAR_DIR / 'mail'}",
)
EMAIL_BACKEND: str = _email["EMAIL_BACKEND"]
EMAIL_HOST: str = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT: int = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER: str = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD: str = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS: bool = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL: bool = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH: str = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
# django-environ reads filemail:///srv/mail as "srv/mail", relative to wherever
# the process runs: the path of a file URL is absolute.
if EMAIL_BACKEND.endswith(".filebased.EmailBackend") and not EMAIL_FILE_PATH.startswith("/"):
    EMAIL_FILE_PATH = f"/{EMAIL_FILE_PATH}"
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="Area Clienti Business <noreply@example.it>")
SERVER_EMAIL: str = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# The operator's certified e-mail (PEC) for customers' notices: printed on the
# withdrawal letter the portal makes (procedures.withdrawal_letter).
OPERATOR_PEC: str = env.str("OPERATOR_PEC", default="customercare@pec.example.it")

# The payment provider of recharges and invoice payments (billing/payments.py):
# "sandbox", the hosted-page simulator built into the portal, or a real
# provider's class by dotted path. Production has none unless one is named, so
# that nobody pays with the sandbox's test cards there by mistake; a staging
# site that names the sandbox must give it its own signing key.
PAYMENT_PROVIDER: str = env.str("PAYMENT_PROVIDER", default="" if PRODUCTION else "sandbox")
# The HMAC-SHA256 key that signs the sandbox's callbacks. Development derives
# one from SECRET_KEY, as it does the encryption key.
PAYMENT_SANDBOX_SECRET: str = env.str("PAYMENT_SANDBOX_SECRET", default="")
if not PAYMENT_SANDBOX_SECRET:
    if PRODUCTION and PAYMENT_PROVIDER == "sandbox":
        raise ImproperlyConfigured("PAYMENT_PROVIDER=sandbox in production needs PAYMENT_SANDBOX_SECRET.")
    PAYMENT_SANDBOX_SECRET = hashlib.sha256(f"payment-sandbox:{SECRET_KEY}".encode()).hexdigest()

# SMS (selfcare/sms.py): "console", "file" (a file a day under SMS_FILE_PATH),
# "locmem" (tests) or a provider's backend class by dotted path. Development
# writes them as files, like e-mail, to be read by hand.
SMS_BACKEND: str = env.str("SMS_BACKEND", default="console" if PRODUCTION else "file")
SMS_FILE_PATH = Path(env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms")))

# ---------------------------------------------------------------------------
# eSIM: the operator's SM-DP+ server, which eSIM activation codes name
# (GSMA SGP.22: LPA:1$<SM-DP+ address>$<matching id>).
# ---------------------------------------------------------------------------
ESIM_SMDP_ADDRESS: str = env.str("ESIM_SMDP_ADDRESS", default="smdp.operatore.example.it")

# ---------------------------------------------------------------------------
# Logging: structured, with personal data redacted (selfcare/logging.py).
# ---------------------------------------------------------------------------
LOG_LEVEL: str = env.str("LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "selfcare.logging.RedactPersonalData"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs each step of every PDF at INFO: noise in the worker's and seed_demo's output.
        "weasyprint": {"level": "WARNING"},
    },
}

# ---------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# ---------------------------------------------------------------------------
# The REST API (/api/v1/): DRF, described by drf-spectacular.
# ---------------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    # Token first: a call that sends a token works in the token's company even
    # from a browser with a session, and a refused call answers 401 with
    # `WWW-Authenticate: Token` rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "selfcare.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "selfcare.api.pagination.StableCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Counted in the default cache (Redis when REDIS_URL is set), so that
    # every web process shares one count per user.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="600/minute"),
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON in, as out: with a form-encoded body DRF reads a boolean that is not
    # sent as false (an HTML checkbox), and a call that left `roaming_enabled`
    # out would switch roaming off. Uploads name their own parsers (procedures.api_requests).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Business customer area API",
    "DESCRIPTION": (
        "The self-care API for business customers. Authenticate with the header "
        "`Authorization: Token <key>`; a token belongs to one membership (a user in one "
        "company), and every call works inside that company."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The errors DRF answers for every view (401, 403, 404, 400, 429), which
    # drf-spectacular leaves out, are documented too (selfcare.api.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "selfcare.api.schema.add_error_responses",
    ],
    # Swagger UI from the drf-spectacular-sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No online validator badge: it loads an image from a third-party site.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Stable enum names, so that another app's `status` never collides with these.
    "ENUM_NAME_OVERRIDES": {
        "LineStatusEnum": "selfcare.models.lines.LineStatus",
        "LineKindEnum": "selfcare.models.lines.LineKind",
        "SimKindEnum": "selfcare.models.lines.SimKind",
        "OfferPaymentEnum": "selfcare.models.lines.Payment",
        "RoleEnum": "selfcare.models.companies.Role",
        "EsimStatusEnum": "selfcare.models.lines.EsimStatus",
        "InvoiceKindEnum": "billing.models.InvoiceKind",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "InvoiceLineKindEnum": "billing.models.InvoiceLineKind",
        "PaymentMethodKindEnum": "billing.models.PaymentMethodKind",
        "InvoiceDocumentKindEnum": "billing.models.InvoiceDocumentKind",
        "InvoiceDocumentStatusEnum": "billing.models.InvoiceDocumentStatus",
        "SdiStateEnum": "billing.models.SdiState",
        "PaymentStatusEnum": "billing.models.PaymentStatus",
        "RoamingZoneKindEnum": "roaming.models.ZoneKind",
        "TripCostKindEnum": "roaming.pricing.CostKind",
        "RequestKindEnum": "procedures.models.RequestKind",
        "RequestStatusEnum": "procedures.models.RequestStatus",
    },
}
