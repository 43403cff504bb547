"""Django settings, all derived from `appliance.launcher.config.StackConfig` and `LB_*` variables.

Nothing here has a second default: ports, paths and secrets come from the stack configuration that the
launcher also uses. Secrets can be given as `LB_<NAME>` or `LB_<NAME>_FILE`; otherwise they are generated
once into the state directory (mode 0600).
"""

from __future__ import annotations

import ipaddress

from appliance.launcher.config import StackConfig, env_bool, env_int, env_str

STACK = StackConfig.from_env()
BASE_DIR = STACK.state_dir
DEBUG = env_bool("LB_DEBUG", False)
SECRET_KEY = STACK.secret("django-secret-key")
ALLOWED_HOSTS = [
    h for h in env_str("LB_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("LB_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "appliance.core",
    "appliance.accounts",
    "appliance.lb",
    "appliance.audit",
    "appliance.health",
    "appliance.tls",
    "appliance.k8s",
    "appliance.observability",
    "appliance.benchmarks",
    "webui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "webui.middleware.StaticFilesMiddleware",
    "appliance.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "webui.middleware.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "appliance.urls"
WSGI_APPLICATION = "appliance.wsgi.application"
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
                "webui.context_processors.role",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": STACK.db_name,
        "USER": STACK.db_user,
        "PASSWORD": STACK.secret("db-password"),
        "HOST": STACK.db_host,
        "PORT": STACK.db_port,
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        # The workers and the tests share this database; pytest must not create a test_ copy of it.
        "TEST": {"NAME": STACK.db_name},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = STACK.path("static")
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
# Password sign-in goes through the lockout: N failures per account or per client address in the window.
AUTHENTICATION_BACKENDS = ["appliance.accounts.backends.LockoutModelBackend"]
LB_LOGIN_LOCKOUT = {
    "max_failures": env_int("LB_LOGIN_MAX_FAILURES", 5, 1, 1000),
    "window_s": env_int("LB_LOGIN_LOCKOUT_WINDOW_S", 900, 1, 86400),
}

# Security by default: these hold over plain HTTP on loopback too; LB_SECURE_COOKIES=1 behind TLS.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_SECURE = env_bool("LB_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind TLS (LB_SECURE_COOKIES=1): redirect plain HTTP (probes excepted) and send HSTS. Preload is opt-in:
# it commits the whole domain to HTTPS in browsers for months, so it is never a default (hence W021 off).
SECURE_SSL_REDIRECT = env_bool("LB_SSL_REDIRECT", SESSION_COOKIE_SECURE)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env_bool("LB_TRUST_X_FORWARDED_PROTO", False):  # only when a TLS proxy in front sets it
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("LB_HSTS_SECONDS", 31536000 if SESSION_COOKIE_SECURE else 0, high=63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LB_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("LB_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# The UI loads only its own static files: no inline script or style, no framing, no plugins. Swagger UI
# (drf-spectacular's page inlines its start-up script) is exempt until it moves to the split view.
LB_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
LB_CSP_EXEMPT_PREFIXES = ["/api/v1/docs/"]
# Static files are served by the app itself (WhiteNoise) straight from the apps' static directories.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "appliance.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "appliance.api_errors.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["appliance.accounts.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LB appliance API",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and the docs page need a role like the rest of the API.
    "SERVE_PERMISSIONS": ["appliance.accounts.permissions.RolePermission"],
    "ENUM_NAME_OVERRIDES": {
        "RevisionStatusEnum": "appliance.lb.choices.RevisionStatus",
        "HealthStatusEnum": "appliance.health.choices.HealthStatus",
        "HealthReasonEnum": "appliance.health.choices.Reason",
        "HttpMethodEnum": "appliance.lb.choices.HttpMethod",
        "HealthCheckMethodEnum": "appliance.health.choices.HttpMethod",
        "ValueMatchOpEnum": "appliance.lb.choices.ValueMatchOp",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "appliance.api_schema.document_errors",
    ],
}

CELERY_BROKER_URL = STACK.redis_url
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "control"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Time limits stay well below the broker's visibility timeout so a task is never delivered twice while
# it is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240

LB_S3 = {
    "endpoint": STACK.s3_endpoint,
    "access_key": STACK.secret("s3-access-key"),
    "secret_key": STACK.secret("s3-secret-key"),
    "region": env_str("LB_S3_REGION", STACK.s3_region),
    "secure": STACK.s3_secure,
    # HTTPS to the S3 server: a CA bundle for a private CA; LB_S3_CERT_CHECK=0 only for test set-ups.
    "ca_file": env_str("LB_S3_CA_FILE", ""),
    "cert_check": env_bool("LB_S3_CERT_CHECK", True),
}
# TLS termination (appliance.tls): OCSP stapling needs a resolver (IP literals) for the responders' names.
LB_TLS = {
    "ocsp_resolvers": [r for r in env_str("LB_TLS_OCSP_RESOLVERS", "").split(",") if r],
    "expiry_warning_days": env_int("LB_CERT_EXPIRY_WARNING_DAYS", 21, 1, 365),
}
LB_BUCKETS = {
    "certificates": env_str("LB_BUCKET_CERTIFICATES", "lb-certificates"),
    "archives": env_str("LB_BUCKET_ARCHIVES", "lb-config-archives"),
    "reports": env_str("LB_BUCKET_REPORTS", "lb-reports"),
    "receipts": env_str("LB_BUCKET_RECEIPTS", "receipts"),
}

# The data-plane node this process belongs to (node agents only) and how long a silent node stays "active".
LB_NODE = {
    "name": STACK.node_name,
    "prefix": env_str("LB_NODE_PREFIX", str(STACK.path("nodes", STACK.node_name))),
    "bind": env_str("LB_NODE_BIND", STACK.bind),
    "status_port": STACK.ports.status,
}
LB_NODE_STALE_SECONDS = 90

# Who may read the web app's /metrics without an API token (appliance.observability.views).
LB_METRICS_ALLOW_CIDRS = [
    ipaddress.ip_network(cidr.strip())
    for cidr in env_str("LB_METRICS_ALLOW_CIDRS", "127.0.0.0/8,::1/128").split(",")
    if cidr.strip()
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "appliance.core.logging.JsonFormatter"}},
    "filters": {"request_id": {"()": "appliance.core.logging.RequestIdFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LB_LOG_LEVEL", "INFO")},
    # gunicorn's worker logger writes JSON too once Django has loaded (its master's start-up lines do not).
    "loggers": {"gunicorn.error": {"handlers": ["console"], "propagate": False}},
}
# Celery keeps the root logger configured above (JSON, request ids) instead of installing its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
