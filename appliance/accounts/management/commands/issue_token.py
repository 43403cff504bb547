"""`manage.py issue_token USER --role ROLE [--name N] [--expires-days D]`: print a new API token."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from appliance.accounts import services
from appliance.accounts.roles import ROLE_NAMES


class Command(BaseCommand):
    help = "Issue an API token for USER, scoped to ROLE (no higher than the user's role); prints it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user")
        parser.add_argument("--role", required=True, choices=sorted(ROLE_NAMES))
        parser.add_argument("--name", default="cli")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user named {options['user']!r}")
        days = options["expires_days"]
        if days is not None and not 1 <= days <= 3650:
            raise CommandError("--expires-days must be between 1 and 3650")
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError("--name must be 1 to 100 characters")
        expires = timezone.now() + timedelta(days=days) if days is not None else None
        try:
            _, text = services.issue_token(None, user, ROLE_NAMES[options["role"]], name, expires)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(text)
