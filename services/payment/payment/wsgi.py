"""WSGI entry point: `gunicorn payment.wsgi:application` (cwd and PYTHONPATH: services/payment)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "payment.settings")

application = get_wsgi_application()
