"""`manage.py rotate_encryption_key --new-key-file F`: reseal every stored private key under a new key.

Every sealed key in object storage (all certificate versions, pending ACME orders, ACME accounts) is
opened with the current key (or `LB_ENCRYPTION_KEY_PREVIOUS`) and sealed again under the new one, with a
fresh data key. Re-running after an interruption continues where it stopped (keys already under the new
key are skipped). When the current key is the generated secret file, that file is replaced (every process
reads it on use); when it comes from `LB_ENCRYPTION_KEY[_FILE]`, point that at the new key next. Keys
that cannot be opened (damaged, or sealed under an unknown key) are listed, and nothing is changed.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from appliance.core.storage import StorageError
from appliance.tls import crypto, materials

ENV = "LB_ENCRYPTION_KEY"


class Command(BaseCommand):
    help = "Re-encrypt every stored private key under a new master key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-key-file", required=True, help="file holding the new key (16+ characters)")

    def handle(self, *args: object, **options: object) -> None:
        try:
            secret = Path(str(options["new_key_file"])).read_text().strip()
            new = crypto.MasterKey.from_secret(secret)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot use the new key: {exc}") from None
        try:
            resealed, current, failed = materials.rotate(new)
        except StorageError as exc:
            raise CommandError(f"rotation stopped, run it again once storage answers: {exc}") from None
        if failed:
            problems = "\n".join(f"  {key}: {why}" for key, why in sorted(failed.items()))
            raise CommandError(f"{len(failed)} keys could not be opened; nothing was changed:\n{problems}")
        self.stdout.write(f"resealed {resealed} keys under key {new.kid} ({current} already were)")
        if os.environ.get(ENV) or os.environ.get(f"{ENV}_FILE"):
            self.stdout.write(f"now set {ENV} (or {ENV}_FILE) to the new key for every process")
            return
        _replace_secret(settings.STACK.path("secrets", "encryption-key"), secret)
        self.stdout.write("the generated key file now holds the new key")


def _replace_secret(path: Path, secret: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    os.replace(temporary, path)
