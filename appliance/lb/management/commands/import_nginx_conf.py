"""`manage.py import_nginx_conf FILE`: create upstreams and servers from an existing nginx config.

Parsing is nginx's own (crossplane, in `nginx.importer`); every value goes through the same validation as
the API. What cannot be mapped is listed with its file and line; existing upstreams are never overwritten.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from appliance.lb import services
from appliance.lb.models import Server, Upstream
from nginx.importer import import_config
from nginx.model import UpstreamSpec


class Command(BaseCommand):
    help = "Import the upstream pools of an existing nginx configuration."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="report only, change nothing")

    def handle(self, *args: object, file: str, dry_run: bool, **_: object) -> None:
        try:
            result = import_config(file)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        created = []
        with transaction.atomic():
            for spec in result.upstreams:
                if Upstream.objects.filter(name=spec.name).exists():
                    self.stdout.write(f"skipped upstream {spec.name}: an upstream with that name exists")
                    continue
                self.create(spec)
                created.append(spec.name)
            if created and not dry_run:
                services.mark_changed(f"import {file}: {', '.join(created)}", "import_nginx_conf")
            if dry_run:
                transaction.set_rollback(True)
        for name in created:
            self.stdout.write(f"{'would import' if dry_run else 'imported'} upstream {name}")
        for note in result.unmapped:
            self.stdout.write(f"not mapped: {note}")

    def create(self, spec: UpstreamSpec) -> None:
        upstream = Upstream(
            name=spec.name,
            algorithm=spec.algorithm,
            hash_key=spec.hash_key or "",
            hash_key_name=spec.hash_key_name or "",
            hash_consistent=spec.hash_consistent,
            keepalive=spec.keepalive,
        )
        try:
            upstream.full_clean()
            upstream.save()
            for member in spec.servers:
                server = Server(
                    upstream=upstream,
                    address=member.address,
                    port=member.port,
                    weight=member.weight,
                    max_fails=member.max_fails,
                    fail_timeout_s=member.fail_timeout_s,
                    max_conns=member.max_conns,
                    backup=member.backup,
                    state=member.state,
                )
                server.full_clean()
                server.save()
        except ValidationError as exc:
            raise CommandError(f"upstream {spec.name}: {exc.message_dict}") from exc
