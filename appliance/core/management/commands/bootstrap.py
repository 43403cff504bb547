"""`manage.py bootstrap`: the idempotent first-start steps after migrations.

Creates the object-storage buckets and the `admin` account. The admin password comes from
`LB_ADMIN_PASSWORD`; otherwise one is generated, written to `$LB_STATE_DIR/admin-password` (mode 0600)
and printed once, on the run that created it.
"""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from appliance.core import storage


class Command(BaseCommand):
    help = "Create buckets and the admin account (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        created = storage.ensure_buckets()
        if created:
            self.stdout.write(f"created buckets: {', '.join(created)}")
        self.ensure_admin()

    def ensure_admin(self) -> None:
        users = get_user_model()
        if users.objects.filter(username="admin").exists():
            return
        password = os.environ.get("LB_ADMIN_PASSWORD") or secrets.token_urlsafe(18)
        users.objects.create_superuser("admin", email="", password=password)
        if not os.environ.get("LB_ADMIN_PASSWORD"):
            path = settings.STACK.path("admin-password")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
            self.stdout.write(f"admin password (shown once, also in {path}): {password}")
