"""Every UI URL with real object ids filled in, so role and page tests cover each view without a list."""

from __future__ import annotations

from django.urls import URLPattern, reverse

from tests.webui.conftest import Sample
from webui.urls import urlpatterns

CHANGE_WORDS = (
    "add",
    "edit",
    "delete",
    "state",
    "rollback",
    "issue",
    "revoke",
    "upload",
    "generate",
    "acme",
    "renew",
    "cancel",
)
ADMIN_SECTIONS = ("audit", "user", "token")


def is_change_view(name: str) -> bool:
    return name.rsplit("-", 1)[-1] in CHANGE_WORDS


def is_admin_view(name: str) -> bool:
    return name.startswith(ADMIN_SECTIONS)


def _kwargs(pattern: URLPattern, sample: Sample) -> dict[str, int]:
    name = pattern.name or ""
    ids = {
        "upstream": sample.upstream.pk,
        "server": sample.servers[0].pk,
        "virtual-server": sample.virtual_server.pk,
        "route": sample.route.pk,
        "user": sample.user.pk,
        "token": sample.token.pk,
        "certificate": sample.certificate.pk,
        "cluster": sample.cluster.pk,
        "service-binding": sample.binding.pk,
        "scaling-policy": sample.policy.pk,
        "acme-account": sample.acme_account.pk,
        "benchmark": sample.benchmark.pk,
    }
    owner = next((key for key in sorted(ids, key=len, reverse=True) if name.startswith(key)), "")
    values = {
        "pk": ids.get(owner, 0),
        "number": sample.revisions[0].number,
        "upstream_pk": sample.upstream.pk,
        "virtual_server_pk": sample.virtual_server.pk,
    }
    return {key: values[key] for key in pattern.pattern.converters}


def every_url(sample: Sample) -> dict[str, str]:
    """URL name → URL, for every pattern of the browser UI."""
    return {p.name: reverse(f"webui:{p.name}", kwargs=_kwargs(p, sample)) for p in urlpatterns if p.name}
