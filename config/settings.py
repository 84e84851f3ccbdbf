"""Evidence Locker settings: one file, driven by environment variables (see README)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

# Every process of the app (web, worker, beat, manage.py) imports this first: what it creates
# from here on (the data dir, the SQLite database and its -wal and -shm, keys, the broker's
# and the cache's files, evidence) is readable by this user only, 0600 files in 0700
# directories. Static assets, which are public, are given wider modes below.
os.umask(0o077)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("LOCKER_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _make_public_directory(path: Path) -> None:
    """A directory others may read (the collected static assets), despite the umask above."""
    old_umask = os.umask(0o022)
    try:
        path.mkdir(parents=True, exist_ok=True)
    finally:
        os.umask(old_umask)


def _secret_key() -> str:
    """The SECRET_KEY from the environment, or one generated once into the data dir."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it between our read and our write.
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    # The second factor: authenticator apps (TOTP) and recovery codes (static devices).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "locker",
]

MIDDLEWARE = [
    # First of all: every log line of the request carries its id, and so does the answer.
    "locker.web.middleware.request_id.RequestIdMiddleware",
    # Outermost, so that every answer carries them, the 503 below included: HSTS, nosniff,
    # Referrer-Policy, Cross-Origin-Opener-Policy; the CSP; the Permissions-Policy.
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "locker.web.middleware.headers.PermissionsPolicyMiddleware",
    # A database error anywhere below answers 503 + Retry-After, not 500.
    "locker.web.middleware.unavailable.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Before anything reads the body (CSRF, the views): a cut body is refused whole.
    "locker.web.middleware.request_body.CompleteBodyMiddleware",
    # After the body check: a retried API POST with the same Idempotency-Key is answered once.
    "locker.api.idempotency.IdempotencyMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "locker.web.middleware.safety.SafetyMiddleware",
    # Keeps the device's look cookie in step with the signed-in account's choice.
    "locker.web.middleware.looks.LookCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages (a timed-out session says why): idle and absolute session limits, and
    # the rows that list each session for its owner.
    "locker.web.middleware.sessions.SessionActivityMiddleware",
    "locker.web.middleware.sessions.SecondFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # What the app is called on this screen, and when it locks (issue 16 item 8).
                "locker.web.looks.look",
            ],
            # The tag libraries live with the web layer (locker/web/templatetags), not at the
            # app's top level where APP_DIRS would look for them.
            "libraries": {
                "locker_tags": "locker.web.templatetags.locker_tags",
                "sharing_tags": "locker.web.templatetags.sharing_tags",
                "offline_tags": "locker.web.templatetags.offline_tags",
            },
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'locker.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        # With persistent connections, test each one at the start of a request, so that a
        # connection the database dropped (a restart) is replaced instead of failing once.
        conn_health_checks=os.environ.get("DATABASE_CONN_HEALTH_CHECKS", "1") == "1",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A database made before the umask above was 0644, and SQLite gives its -wal and -shm
    # the database file's mode: made private once, the three stay so.
    for _suffix in ("", "-wal", "-shm"):
        _database_file = Path(f"{DATABASES['default']['NAME']}{_suffix}")
        try:
            _status = _database_file.stat()
            if _status.st_mode & 0o077 and _status.st_uid == os.getuid():
                _database_file.chmod(0o600)
        except (FileNotFoundError, PermissionError):
            pass
    # Appends take a write lock at BEGIN, so concurrent writers queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id first: new and changed passwords are hashed with it, and a PBKDF2 hash from before
# is re-hashed with Argon2 at its owner's next log-in (so the others stay, after it).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# Every password check goes through the log-in limits (per account and per address).
AUTHENTICATION_BACKENDS = ["locker.infra.login_throttle.ThrottledModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: its password_changed hook ends every session and API token of the user.
    {"NAME": "locker.services.sessions.PasswordChangeEndsAccess"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or DATA_DIR / "static")
_make_public_directory(STATIC_ROOT)  # WhiteNoise warns on every start otherwise
# WhiteNoise serves static/ straight from the finders, so neither `make run` nor the tests
# need `collectstatic`; the files are few and small.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "/media-not-served/"

# Evidence and dossiers go through the "evidence" storage alias. Set LOCKER_STORAGE=s3 (and the
# AWS_* variables below) to keep them in an S3-compatible bucket instead: AWS S3, or the
# SeaweedFS service of compose.yaml. Everything is read from the environment; the access key
# and secret, when unset, come from boto3's own chain (an instance role, ~/.aws). The client
# gives up on a store that does not answer within AWS_S3_TIMEOUT_S, so a request fails with
# 503 rather than hanging (locker/infra/storage.py).
LOCKER_STORAGE = os.environ.get("LOCKER_STORAGE", "filesystem")
if LOCKER_STORAGE == "s3":
    from botocore.config import Config as _BotoConfig

    _s3_timeout = float(os.environ.get("AWS_S3_TIMEOUT_S", "10"))
    _evidence_storage: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            "client_config": _BotoConfig(
                # "path" for stores reached by a bare host name (compose's
                # http://seaweedfs:8333), where bucket.host would not resolve; empty: boto3's.
                s3={"addressing_style": os.environ.get("AWS_S3_ADDRESSING_STYLE") or "auto"},
                connect_timeout=_s3_timeout,
                read_timeout=_s3_timeout,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
            "file_overwrite": False,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 60,
        },
    }
else:
    _evidence_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(MEDIA_ROOT),
            "base_url": MEDIA_URL,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
STORAGES = {
    "default": _evidence_storage,
    "evidence": _evidence_storage,
    # Public assets: readable by any user (a web server in front, or the app's own user when
    # collectstatic ran as another, as in the Dockerfile), whatever the process's umask.
    # Compressed and content-hashed names where collectstatic ran (locker/infra/staticfiles.py).
    "staticfiles": {
        "BACKEND": "locker.infra.staticfiles.HashedWhereCollected",
        "OPTIONS": {"file_permissions_mode": 0o644, "directory_permissions_mode": 0o755},
    },
}

# Encryption at rest (docs/storage-encryption.md): every file in the "evidence" alias is
# sealed under its own data key, wrapped by the master key. LOCKER_MASTER_KEY: base64 keys of
# 32 bytes, comma-separated, the first the current one (the others are read while
# `manage.py rotate_master_key` re-wraps the files under them); or LOCKER_MASTER_KEY_FILE,
# a file of such keys, one a line. Neither set: <data dir>/master_key, made once (0600).
# Production keeps the key away from the data it protects (a secret store, another volume).
LOCKER_MASTER_KEY = os.environ.get("LOCKER_MASTER_KEY", "").strip()
LOCKER_MASTER_KEY_FILE = os.environ.get("LOCKER_MASTER_KEY_FILE", "").strip()

# Keys: the instance CA and the signing certificate (checkpoints and dossier PDFs).
LOCKER_KEY_DIR = Path(os.environ.get("LOCKER_KEY_DIR") or DATA_DIR / "keys")
# The signing key in a PKCS#11 token (an HSM) instead of LOCKER_KEY_DIR/signing.key
# (locker/infra/hsm.py, docs/operations.md "The signing key in an HSM"): the vendor's module
# (.so), the token's label, the label of our key in it, and the user PIN (or a file holding
# it; neither: the module authenticates by itself). Unset module: the key file, as before.
LOCKER_SIGNING_PKCS11_MODULE = os.environ.get("LOCKER_SIGNING_PKCS11_MODULE", "").strip()
LOCKER_SIGNING_PKCS11_TOKEN = os.environ.get("LOCKER_SIGNING_PKCS11_TOKEN", "").strip()
LOCKER_SIGNING_PKCS11_KEY = (
    os.environ.get("LOCKER_SIGNING_PKCS11_KEY", "").strip() or "evidence-locker-signing"
)
LOCKER_SIGNING_PKCS11_PIN = os.environ.get("LOCKER_SIGNING_PKCS11_PIN", "")
LOCKER_SIGNING_PKCS11_PIN_FILE = os.environ.get("LOCKER_SIGNING_PKCS11_PIN_FILE", "").strip()
# Evidence quotas (locker/services/entries.py): one file, all files of one request, and all
# evidence stored in one user's cases (0: no limit). A request over any of them stores nothing.
LOCKER_MAX_UPLOAD_BYTES = int(os.environ.get("LOCKER_MAX_UPLOAD_BYTES", str(25 * 1024 * 1024)))
LOCKER_MAX_REQUEST_UPLOAD_BYTES = int(
    os.environ.get("LOCKER_MAX_REQUEST_UPLOAD_BYTES", str(40 * 1024 * 1024))
)
LOCKER_USER_QUOTA_BYTES = int(os.environ.get("LOCKER_USER_QUOTA_BYTES", str(1024 * 1024 * 1024)))
# Pictures with more pixels than this (all frames of an animation together) are refused
# before Pillow decodes them: a phone photo is 12-50 MP, a screenshot about 3 MP.
LOCKER_MAX_IMAGE_PIXELS = int(os.environ.get("LOCKER_MAX_IMAGE_PIXELS", "50000000"))
# The program that makes a playable copy of a recording browsers cannot play (AMR call
# recordings; locker/infra/derived.py), found on PATH, and how long one run of it may take.
LOCKER_FFMPEG = os.environ.get("LOCKER_FFMPEG", "ffmpeg")
LOCKER_MEDIA_TIMEOUT_S = float(os.environ.get("LOCKER_MEDIA_TIMEOUT_S", "300"))
# The program that reads the text in pictures (OCR, locker/infra/ocr.py), found on PATH; it
# needs its chi_sim and eng language data. Each run has LOCKER_MEDIA_TIMEOUT_S as its limit.
LOCKER_TESSERACT = os.environ.get("LOCKER_TESSERACT", "tesseract")
# Third-party time (docs/chain-format.md, "Anchors"): RFC 3161 time-stamp authorities, comma-
# separated, credentials as https://user:password@host/path. LOCKER_TSA_URL (one URL) is the
# older name, still read. Every LOCKER_ANCHOR_INTERVAL_S seconds (and before every dossier)
# the checkpoints signed since the last round are anchored under one Merkle root.
LOCKER_TSA_URLS = [
    address.strip()
    for address in (
        os.environ.get("LOCKER_TSA_URLS") or os.environ.get("LOCKER_TSA_URL", "")
    ).split(",")
    if address.strip()
]
LOCKER_TSA_TIMEOUT_S = float(os.environ.get("LOCKER_TSA_TIMEOUT_S", "10"))
# PEM file of the TSA roots (and intermediates) this instance trusts: carried beside each
# token, and the only roots whose tokens count when verifying.
LOCKER_TSA_CA_FILE = os.environ.get("LOCKER_TSA_CA_FILE", "")
LOCKER_ANCHOR_INTERVAL_S = float(os.environ.get("LOCKER_ANCHOR_INTERVAL_S", "600"))
# An entry attested more than this long after it was recorded is flagged.
LOCKER_ANCHOR_LATE_S = float(os.environ.get("LOCKER_ANCHOR_LATE_S", "3600"))
# Checkpoints per round at most (the rest wait for the next round).
LOCKER_ANCHOR_MAX_LEAVES = int(os.environ.get("LOCKER_ANCHOR_MAX_LEAVES", "50000"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o600

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport under the data dir.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("in", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat reads crontab schedules (the daily receipt mail) in the instance's time zone.
CELERY_TIMEZONE = TIME_ZONE
# The hour (0-23, TIME_ZONE) at which the daily receipts are mailed to those who asked.
LOCKER_RECEIPT_MAIL_HOUR = int(os.environ.get("LOCKER_RECEIPT_MAIL_HOUR", "9"))

# Rate limits, form submission ids and cached chain checks: Redis when it is there, otherwise
# files under the data dir, which every gunicorn worker of `make run` shares. Either way
# behind ResilientCache (locker/infra/cache.py): nothing that records evidence may fail or
# wait because the cache is down or frozen, so the sockets time out quickly and a failing
# cache is skipped for LOCKER_CACHE_RETRY_S seconds, this process's memory standing in.
LOCKER_CACHE_SOCKET_TIMEOUT_S = float(os.environ.get("LOCKER_CACHE_SOCKET_TIMEOUT_S", "0.25"))
LOCKER_CACHE_RETRY_S = float(os.environ.get("LOCKER_CACHE_RETRY_S", "5"))
if REDIS_URL:
    _shared_cache: dict[str, object] = {
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "locker-cache",
        "OPTIONS": {
            "primary": "django.core.cache.backends.redis.RedisCache",
            "primary_options": {
                "socket_connect_timeout": LOCKER_CACHE_SOCKET_TIMEOUT_S,
                "socket_timeout": LOCKER_CACHE_SOCKET_TIMEOUT_S,
            },
            "retry_after_s": LOCKER_CACHE_RETRY_S,
        },
    }
else:
    _shared_cache = {
        "LOCATION": str(DATA_DIR / "cache"),
        "OPTIONS": {
            "primary": "django.core.cache.backends.filebased.FileBasedCache",
            "retry_after_s": LOCKER_CACHE_RETRY_S,
        },
    }
CACHES = {"default": {"BACKEND": "locker.infra.cache.ResilientCache", **_shared_cache}}

# Where the quick-exit control sends the page: an ordinary site that says nothing about debt.
LOCKER_QUICK_EXIT_URL = os.environ.get("LOCKER_QUICK_EXIT_URL", "https://www.baidu.com/")

# Content-Security-Policy (django-csp): everything from this origin only, no inline script or
# style (a nonce for any that must be inline), no framing, no plugins. Pages load nothing
# from any other site; the one other address is the quick exit's, which the exit form's POST
# is redirected to. data: images are the icons inside the API docs' stylesheet.
_quick_exit = urlsplit(LOCKER_QUICK_EXIT_URL)
_quick_exit_origins = [f"{_quick_exit.scheme}://{_quick_exit.netloc}"] if _quick_exit.netloc else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "media-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF, *_quick_exit_origins],
        "frame-ancestors": [NONE],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [NONE],
    }
}
# Permissions-Policy: powerful features off for every page and anything embedded. Taking a
# photo for a record uses <input type=file capture>, the phone's own camera app, which needs
# no camera permission; clipboard (copy a link), web-share and the passkey prompts
# (publickey-credentials-*) keep the browser's default, this origin only.
LOCKER_PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)
LOCKER_CONTACT_LINK_DAYS = int(os.environ.get("LOCKER_CONTACT_LINK_DAYS", "7"))
# Capture devices (docs/capture.md): how far a SmsForwarder signature's time may be from ours,
# either way (its signature is taken once within this window, and re-sent messages without a
# time of their own are matched within it), and how many posts one device may make.
LOCKER_DEVICE_SIGNATURE_WINDOW_S = int(os.environ.get("LOCKER_DEVICE_SIGNATURE_WINDOW_S", "300"))
LOCKER_DEVICE_RATE = os.environ.get("LOCKER_DEVICE_RATE", "30/m")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Evidence Locker <noreply@localhost>")

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/cases/"
LOGOUT_REDIRECT_URL = "/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A refused form comes back as our page in the reader's language, holding what was typed.
CSRF_FAILURE_VIEW = "locker.web.views.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
# The header on every answer. Pages with a form say "same-origin" in their <meta> instead (a
# document's own policy wins): under "no-referrer" browsers send `Origin: null` with a form's
# POST, which Django's CSRF check refuses. Either way no address of ours leaves the site.
SECURE_REFERRER_POLICY = "no-referrer"
X_FRAME_OPTIONS = "DENY"
# HTTPS: on when the cookies are HTTPS-only (SECURE_COOKIES, on by default with DATABASE_URL
# and DEBUG off), which is what production means here (README, "Configuration").
HTTPS_ONLY = env_bool("SECURE_COOKIES", default=not DEBUG and bool(os.environ.get("DATABASE_URL")))
if HTTPS_ONLY:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
# HSTS and the redirect to https follow SECURE_COOKIES=1 when it is set, not the cookies'
# default: a machine with DATABASE_URL that serves plain http (a test run, CI, a laptop
# against compose's PostgreSQL) must not be redirected to an https nobody listens on, nor
# pin a browser to it. `check --deploy` warns when production leaves them off.
HTTPS_DECLARED = env_bool("SECURE_COOKIES", default=False)
# HSTS: a year by default once HTTPS is declared; includeSubDomains covers names under this host
# only, and preload is a request browsers honour only once the apex domain is submitted.
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS") or (31536000 if HTTPS_DECLARED else 0)
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
# Plain http is redirected to https, but for the health check a load balancer asks directly.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS_DECLARED)
SECURE_REDIRECT_EXEMPT = [r"^readyz$"]
# Access-log IPs: X-Forwarded-For is believed only behind our own proxy, and then only the
# entry our proxies appended (LOCKER_PROXY_COUNT hops from the right), never the client's own.
LOCKER_BEHIND_PROXY = env_bool("BEHIND_PROXY")
LOCKER_PROXY_COUNT = max(1, int(os.environ.get("LOCKER_PROXY_COUNT", "1")))
# The instance's public address (https://locker.example.org), for links that leave the app:
# invitation emails, the QR code on a dossier's verification page. Empty: the request's own.
LOCKER_PUBLIC_URL = os.environ.get("LOCKER_PUBLIC_URL", "").rstrip("/")
LOCKER_INVITATION_DAYS = int(os.environ.get("LOCKER_INVITATION_DAYS", "14"))
LOCKER_EMAIL_CONFIRM_DAYS = int(os.environ.get("LOCKER_EMAIL_CONFIRM_DAYS", "3"))

# Every handler redacts what it writes (locker/infra/redact.py): Django logs the path of every
# 4xx and 5xx, and a token URL's one request would be one of them. runserver's request log
# (django.server) has a handler of its own in Django's defaults, replaced here by a filtered one.
# LOCKER_LOG_FORMAT: "json", one object a line with the request id (compose's default, for a
# log collector), or "text", the message alone (the default, for `make run` in a terminal).
# Either way nothing but the chosen fields: never the request object Django attaches.
LOCKER_LOG_FORMAT = os.environ.get("LOCKER_LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "locker.infra.redact.RedactSecretsFilter"},
        "request_id": {"()": "locker.infra.logs.RequestIdFilter"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
        "json": {"()": "locker.infra.logs.JsonFormatter"},
        "text": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "redact"],
            "formatter": "json" if LOCKER_LOG_FORMAT == "json" else "text",
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact"],
        },
    },
    "loggers": {
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

LOCKER_LOGIN_RATE = os.environ.get("LOCKER_LOGIN_RATE", "20/m")
# A signed-in session ends after this long without a request (locker/web/middleware/
# sessions.py). 30 minutes: a phone left open, then taken by a collector or read by family,
# is the threat this app's users live with, and logging one call takes a few minutes.
LOCKER_SESSION_IDLE_S = int(os.environ.get("LOCKER_SESSION_IDLE_S", "1800"))
# And after this long since log-in, however active (it was Django's two weeks).
SESSION_COOKIE_AGE = 12 * 3600
# How long a log-in or the "confirm it's you" step lets a session change the e-mail address,
# the password or the second factor (locker/services/reauth.py): long enough for one set-up,
# short enough that a phone picked up later asks again.
LOCKER_REAUTH_S = int(os.environ.get("LOCKER_REAUTH_S", "300"))
# A page left hidden (another app, the phone's screen off) for longer than this is covered
# when it is seen again, and the session locked until the password is given
# (static/locker/screen-lock.js); 0: never. Two minutes: long enough to copy a number from
# the messages app, short enough that a phone picked up later shows nothing.
LOCKER_SCREEN_LOCK_S = int(os.environ.get("LOCKER_SCREEN_LOCK_S", "120"))
# The issuer an authenticator app shows beside the code: neutral, like the app's short name,
# since the phone may be looked at by others.
OTP_TOTP_ISSUER = "Locker"
# Lawyers (accounts with a professional profile) must set up a second factor before anything
# else, and cannot get API tokens without one.
LOCKER_REQUIRE_2FA_FOR_LAWYERS = env_bool("LOCKER_REQUIRE_2FA_FOR_LAWYERS")
# Passkeys (WebAuthn, locker/services/passkeys.py): the relying party id a passkey is bound
# to (a domain, e.g. locker.example.org; never an IP address) and the origin the browser must
# report (https://locker.example.org). Unset, both come from LOCKER_PUBLIC_URL, else from
# the address each request came to (its host checked against ALLOWED_HOSTS): right for local
# runs at http://localhost:8000. Set them in production: a passkey made for one id works for
# no other, so the id must not change with the address a request happened to use.
LOCKER_WEBAUTHN_RP_ID = os.environ.get("LOCKER_WEBAUTHN_RP_ID", "")
LOCKER_WEBAUTHN_ORIGIN = os.environ.get("LOCKER_WEBAUTHN_ORIGIN", "").rstrip("/")
# API tokens stop working this many days after they are issued.
LOCKER_API_TOKEN_DAYS = int(os.environ.get("LOCKER_API_TOKEN_DAYS", "30"))
# Password guessing (locker/infra/login_throttle.py): failures one account (from any address)
# and one address (at any account) may have before each further attempt waits, 30 s doubling
# per failure up to LOCKER_LOGIN_MAX_WAIT_S. Never a permanent lock: a stranger's guesses
# can only slow the owner down. Addresses get more: many borrowers may share one carrier NAT.
LOCKER_LOGIN_ACCOUNT_FAILURES = int(os.environ.get("LOCKER_LOGIN_ACCOUNT_FAILURES", "5"))
LOCKER_LOGIN_ADDRESS_FAILURES = int(os.environ.get("LOCKER_LOGIN_ADDRESS_FAILURES", "50"))
LOCKER_LOGIN_MAX_WAIT_S = int(os.environ.get("LOCKER_LOGIN_MAX_WAIT_S", "900"))
LOCKER_ACCESS_LOG_REPEAT_SECONDS = int(os.environ.get("LOCKER_ACCESS_LOG_REPEAT_SECONDS", "60"))

# Dossiers (issue 4): the worker's lease on a row, how long a queued row may wait before the
# sweep enqueues it again, how often the sweep runs, and the task's time limits (seconds).
LOCKER_DOSSIER_LEASE_S = int(os.environ.get("LOCKER_DOSSIER_LEASE_S", "120"))
LOCKER_DOSSIER_REQUEUE_S = int(os.environ.get("LOCKER_DOSSIER_REQUEUE_S", "60"))
LOCKER_DOSSIER_SWEEP_S = float(os.environ.get("LOCKER_DOSSIER_SWEEP_S", "30"))
LOCKER_DOSSIER_MAX_ATTEMPTS = int(os.environ.get("LOCKER_DOSSIER_MAX_ATTEMPTS", "4"))
LOCKER_DOSSIER_SOFT_LIMIT_S = int(os.environ.get("LOCKER_DOSSIER_SOFT_LIMIT_S", "600"))
LOCKER_DOSSIER_HARD_LIMIT_S = int(os.environ.get("LOCKER_DOSSIER_HARD_LIMIT_S", "660"))
# Pages (issue 14, docs/scale.md "Pages"): the longest chain a page verifies whole, or
# whose figures it rebuilds, while it answers. A longer one's first view (no verified head in
# the cache, no figures row) asks the worker and shows "being checked" / "being prepared".
LOCKER_INLINE_VERIFY_MAX_ENTRIES = int(os.environ.get("LOCKER_INLINE_VERIFY_MAX_ENTRIES", "5000"))
# A TrueType-outline CJK font file to use instead of the one installed with the project.
LOCKER_CJK_FONT = os.environ.get("LOCKER_CJK_FONT", "")
# The one-year Loan Prime Rate (basis points) and the day it was published: the loan-cost
# audit draws the courts' cap at four times it. 3.00 % from 2025-05-20 is the latest value
# verified when this was written (docs/analysis.md); the operator updates it.
LOCKER_LPR_1Y_BP = int(os.environ.get("LOCKER_LPR_1Y_BP", "300"))
LOCKER_LPR_1Y_DATE = os.environ.get("LOCKER_LPR_1Y_DATE", "2025-05-20")
# A person's download of all their data (Settings → Your data) is kept this long after it is
# made, then its file is deleted: it holds every case they own, so it must not linger.
LOCKER_DATA_EXPORT_KEEP_S = int(os.environ.get("LOCKER_DATA_EXPORT_KEEP_S", "86400"))
# Short broker timeouts: a request must not hang when the broker is down (refused) or frozen
# (the connection is accepted, then nothing answers): enqueue_dossier gives up after about
# one connect timeout plus one socket timeout, and the row waits for the sweep.
LOCKER_BROKER_SOCKET_TIMEOUT_S = float(os.environ.get("LOCKER_BROKER_SOCKET_TIMEOUT_S", "1"))
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("socket_connect_timeout", 1)
    CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("socket_timeout", LOCKER_BROKER_SOCKET_TIMEOUT_S)
else:
    # kombu's filesystem transport otherwise creates ./control in the working directory.
    _control_dir = DATA_DIR / "broker" / "control"
    _control_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.setdefault("control_folder", str(_control_dir))
CELERY_BEAT_SCHEDULE = {
    "sweep-dossiers": {
        "task": "locker.tasks.sweep_dossiers",
        "schedule": LOCKER_DOSSIER_SWEEP_S,
        "options": {"expires": LOCKER_DOSSIER_SWEEP_S},
    },
    "delete-expired-idempotency-keys": {
        "task": "locker.tasks.delete_expired_idempotency_keys",
        "schedule": 3600.0,
        "options": {"expires": 3600},
    },
    "anchor-checkpoints": {
        "task": "locker.tasks.anchor_checkpoints",
        "schedule": LOCKER_ANCHOR_INTERVAL_S,
        "options": {"expires": LOCKER_ANCHOR_INTERVAL_S},
    },
    # Derived copies (pictures, playable recordings) whose task was lost: sent again.
    "sweep-derived": {
        "task": "locker.tasks.sweep_derived",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # The case page's conduct panels behind their case's head: asked for again.
    "sweep-case-conduct": {
        "task": "locker.tasks.sweep_case_conduct",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Downloads of all one's data: lost ones sent again, expired ones' files deleted.
    "tend-data-exports": {
        "task": "locker.tasks.tend_data_exports",
        "schedule": 300.0,
        "options": {"expires": 300},
    },
    # The daily receipt mail (opt-in per user), at LOCKER_RECEIPT_MAIL_HOUR in TIME_ZONE.
    "mail-daily-receipts": {
        "task": "locker.tasks.mail_daily_receipts",
        "schedule": crontab(minute=0, hour=LOCKER_RECEIPT_MAIL_HOUR),
        # A run that waited this long is replaced by the next day's.
        "options": {"expires": 12 * 3600},
    },
}
# The public /verify page and POST /api/verify: largest upload, and requests per client.
LOCKER_VERIFY_MAX_BYTES = int(os.environ.get("LOCKER_VERIFY_MAX_BYTES", str(300 * 1024 * 1024)))
LOCKER_VERIFY_RATE = os.environ.get("LOCKER_VERIFY_RATE", "20/m")
# Checking a bundle near the size limit takes seconds of CPU: a cap for the whole instance.
LOCKER_VERIFY_INSTANCE_PER_MINUTE = int(os.environ.get("LOCKER_VERIFY_INSTANCE_PER_MINUTE", "30"))
# One public verification stops (and says it took too long) once it has worked this long,
# so it cannot hold a web worker: checked while reading and hashing, no signals or threads.
LOCKER_VERIFY_TIME_LIMIT_S = float(os.environ.get("LOCKER_VERIFY_TIME_LIMIT_S", "5"))
