"""Revision archive tasks (control queue): archive one applied revision; sweep for any that were missed."""

from celery import shared_task

from appliance.core.storage import StorageError


@shared_task(
    name="workers.archive.archive_revision",
    acks_late=True,
    # An object-storage outage only delays the archive: back off up to 5 minutes, for about an hour.
    autoretry_for=(StorageError,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=False,
    max_retries=20,
    soft_time_limit=60,
    time_limit=90,
)
def archive_revision(revision_id: int) -> bool:
    from appliance.core import archive
    from appliance.lb.models import ConfigRevision

    revision = ConfigRevision.objects.filter(pk=revision_id).first()
    return bool(revision and archive.archive_revision(revision))


@shared_task(
    name="workers.archive.archive_missing",
    acks_late=False,
    soft_time_limit=120,
    time_limit=150,
)
def archive_missing() -> list[int]:
    """Periodic: catches revisions whose archiving was lost or gave up during a long outage."""
    from appliance.core import archive

    return archive.archive_missing()
