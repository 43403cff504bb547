"""`manage.py import_nginx_conf`: existing upstream pools become objects; the rest is reported."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from appliance.lb.models import Server, Upstream

CONFIG = """
events {}
http {
    upstream shop {
        least_conn;
        keepalive 16;
        server 10.0.0.1:8080 weight=3 max_fails=2 fail_timeout=5s;
        server 10.0.0.2:8080 backup;
    }
    upstream "bad;name" { server 10.0.0.3:80; }
    server { listen 80; location / { proxy_pass http://shop; } }
}
"""


def test_import_creates_upstreams_and_reports_what_it_could_not_map(infra, transactional_db, tmp_path):
    path = tmp_path / "nginx.conf"
    path.write_text(CONFIG)
    out = StringIO()
    call_command("import_nginx_conf", str(path), stdout=out)
    shop = Upstream.objects.get()
    assert (shop.name, shop.algorithm, shop.keepalive) == ("shop", "least_conn", 16)
    members = {
        (s.address, s.port, s.weight, s.max_fails, s.fail_timeout_s, s.backup) for s in Server.objects.all()
    }
    assert members == {("10.0.0.1", 8080, 3, 2, 5, False), ("10.0.0.2", 8080, 1, 3, 10, True)}
    report = out.getvalue()
    assert "imported upstream shop" in report
    assert "not imported" in report and "bad;name" in report
    assert "server block not imported" in report


def test_import_dry_run_changes_nothing(infra, transactional_db, tmp_path):
    path = tmp_path / "nginx.conf"
    path.write_text(CONFIG)
    out = StringIO()
    call_command("import_nginx_conf", str(path), "--dry-run", stdout=out)
    assert "would import upstream shop" in out.getvalue()
    assert not Upstream.objects.exists()
