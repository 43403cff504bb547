"""Django settings of the payment service, read entirely from `PAYMENT_*` environment variables.

Required (no defaults, the process refuses to start without them): PAYMENT_INSTANCE_ID, PAYMENT_SECRET_KEY,
PAYMENT_DB_HOST, PAYMENT_DB_PORT, PAYMENT_DB_NAME, PAYMENT_DB_USER, PAYMENT_DB_PASSWORD,
PAYMENT_S3_ENDPOINT, PAYMENT_S3_ACCESS_KEY, PAYMENT_S3_SECRET_KEY. Optional ones and their defaults are
listed in services/payment/README.md. Every variable may instead be given as `NAME_FILE`.
"""

from __future__ import annotations

from payment.config import env_bool, env_float, env_int, env_required, env_str

INSTANCE_ID = env_required("PAYMENT_INSTANCE_ID")
SECRET_KEY = env_required("PAYMENT_SECRET_KEY")
DEBUG = env_bool("PAYMENT_DEBUG", False)
# The service sits behind a load balancer that forwards arbitrary virtual-host names; it builds absolute
# URLs only for pagination links of the same response, so any Host is accepted unless narrowed here.
ALLOWED_HOSTS = [h for h in env_str("PAYMENT_ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = ["rest_framework", "django_filters", "payment"]

MIDDLEWARE = [
    "payment.middleware.RequestContextMiddleware",
    "payment.middleware.MetricsMiddleware",
    "payment.middleware.FaultInjectionMiddleware",
]

ROOT_URLCONF = "payment.urls"
WSGI_APPLICATION = "payment.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env_required("PAYMENT_DB_HOST"),
        "PORT": env_int("PAYMENT_DB_PORT", 5432, 1, 65535),
        "NAME": env_required("PAYMENT_DB_NAME"),
        "USER": env_required("PAYMENT_DB_USER"),
        "PASSWORD": env_required("PAYMENT_DB_PASSWORD"),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        # Short connect timeout so /readyz and requests fail fast when PostgreSQL is gone; the statement
        # and lock timeouts stay below gunicorn's 30 s worker timeout so a stuck query ends as a clean
        # error rather than a killed worker.
        "OPTIONS": {
            "connect_timeout": env_int("PAYMENT_DB_CONNECT_TIMEOUT", 2, 1, 30),
            "options": "-c statement_timeout=10000 -c lock_timeout=5000",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
LANGUAGE_CODE = "en-us"

# No sessions, no users: the sample service is reached only through the load balancer on loopback or
# inside a cluster network. Only JSON in and out.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "payment.pagination.PaymentPagination",
    "EXCEPTION_HANDLER": "payment.errors.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}

PAYMENT_S3 = {
    "endpoint": env_required("PAYMENT_S3_ENDPOINT"),
    "secure": env_bool("PAYMENT_S3_SECURE", False),
    "access_key": env_required("PAYMENT_S3_ACCESS_KEY"),
    "secret_key": env_required("PAYMENT_S3_SECRET_KEY"),
    "region": env_str("PAYMENT_S3_REGION", "us-east-1"),
    "bucket": env_str("PAYMENT_RECEIPTS_BUCKET", "receipts"),
    "connect_timeout": env_float("PAYMENT_S3_CONNECT_TIMEOUT", 1.0, 0.1, 30.0),
    "read_timeout": env_float("PAYMENT_S3_READ_TIMEOUT", 5.0, 0.1, 60.0),
}
PAYMENT_FAULTS_ENABLED = env_bool("PAYMENT_FAULTS_ENABLED", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "payment.logs.JsonFormatter"}},
    "filters": {"context": {"()": "payment.logs.ContextFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env_str("PAYMENT_LOG_LEVEL", "INFO")},
    # Our access log line already records every 4xx/5xx; Django's own "Bad Request: /x" would repeat it.
    "loggers": {"django.request": {"level": "ERROR"}},
}
