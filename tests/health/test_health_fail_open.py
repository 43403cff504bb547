"""Every server unhealthy: the upstream fails open (keeps sending to all, with an alert) unless a backup
can take over."""

from __future__ import annotations

from appliance.health.models import HealthAlert
from appliance.lb.models import Upstream
from tests.health.conftest import check_on, restart, wait_status
from tests.support.lb import spread


def test_upstream_with_every_server_unhealthy_fails_open_and_raises_an_alert(pools):
    a, b = pools.backend("fo-a", health_status=503), pools.backend("fo-b", health_status=503)
    url = pools.pool("hfailopen", [a, b])
    check_on("hfailopen", path="/__health")
    wait_status(a, "unhealthy", 10)
    wait_status(b, "unhealthy", 10)
    pools.wait()
    before = a.hits(), b.hits()
    seen = spread(url, 200)
    assert sum(seen.values()) == 200 and set(seen) == {"fo-a", "fo-b"}, seen
    assert a.hits() > before[0] and b.hits() > before[1]
    alert = HealthAlert.objects.get(upstream__name="hfailopen", cleared_at__isnull=True)
    assert alert.kind == "fail_open" and "failing open" in alert.message

    b.kill()
    restart(b, health_status=200)
    wait_status(b, "healthy", 10)
    pools.wait()
    alert.refresh_from_db()
    assert alert.cleared_at is not None
    before_a = a.hits()
    assert spread(url, 200) == {"fo-b": 200}
    assert a.hits() == before_a


def test_a_healthy_backup_takes_over_when_every_primary_is_unhealthy(pools):
    p1, p2 = pools.backend("bk-p1", health_status=500), pools.backend("bk-p2", health_status=500)
    spare = pools.backend("bk-spare")
    url = pools.pool("hbackup", [p1, p2, spare], backup=[False, False, True])
    assert spread(url, 100)["bk-spare"] == 0  # the backup idles while primaries are in rotation
    check_on("hbackup", path="/__health")
    wait_status(p1, "unhealthy", 10)
    wait_status(p2, "unhealthy", 10)
    wait_status(spare, "healthy", 10)
    pools.wait()
    assert spread(url, 200) == {"bk-spare": 200}
    upstream = Upstream.objects.get(name="hbackup")
    assert not HealthAlert.objects.filter(upstream=upstream).exists()
