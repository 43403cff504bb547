"""`manage.py restore_revision N [--this-node]`: put an archived revision live from object storage alone.

By default the archived files of revision N are published again as a new revision (like a rollback),
which every node applies; the database row of N may have lost its files. With `--this-node`, the archive
is applied straight to this node's nginx (with its certificates from object storage), for when the
control plane cannot publish; the node agent moves on to the newest revision at its next converge.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appliance.core import archive
from appliance.core.storage import StorageError
from appliance.lb import services
from appliance.lb.agent import node_params
from appliance.lb.models import ConfigRevision
from appliance.tls import crypto, materials, node
from nginx.applier import NodeApplier


class Command(BaseCommand):
    help = "Restore an archived config revision from object storage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number", type=int)
        parser.add_argument("--this-node", action="store_true", help="apply to this node's nginx only")

    def handle(self, *args: object, **options: object) -> None:
        number = int(str(options["number"]))
        try:
            archived = archive.load(number)
            if options["this_node"]:
                self._apply_here(archived)
            else:
                self._publish(archived)
        except (archive.ArchiveError, StorageError, materials.MaterialError, crypto.DecryptionError) as exc:
            raise CommandError(str(exc)) from None

    def _publish(self, archived: archive.ArchivedRevision) -> None:
        target = ConfigRevision.objects.filter(number=archived.number).first()
        if target is None:
            raise CommandError(f"revision {archived.number} is not in the database; use --this-node")
        if target.checksum != archived.checksum:
            raise CommandError(f"the archive of revision {archived.number} has another checksum than its row")
        target.files = archived.files  # in memory only: the row keeps what it has
        revision = services.rollback(target, "restore_revision")
        self.stdout.write(f"revision {revision.number} publishes the archive of revision {archived.number}")

    def _apply_here(self, archived: archive.ArchivedRevision) -> None:
        applier = NodeApplier(Path(settings.LB_NODE["prefix"]), node_params())
        secrets = node.secret_files(archived.files)
        result = applier.apply(archived.number, archived.files, archived.checksum, secret_files=secrets)
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(result.message)
