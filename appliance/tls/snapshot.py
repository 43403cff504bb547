"""A virtual server's TLS binding and pending ACME answers → the compiler's `TlsSpec`.

Only certificates that have a valid version are served. A binding whose certificates are all still being
issued gets no HTTPS listener yet (the ACME answers on its HTTP listeners are what it needs first); the
listener appears with the revision that carries the issued certificate.
"""

from __future__ import annotations

from django.conf import settings

from appliance.lb.models import VirtualServer
from appliance.tls.choices import CertificateStatus, OrderStatus
from appliance.tls.models import AcmeChallenge, Certificate, VirtualServerTls
from nginx.tls import AcmeChallengeSpec, CertificateRef, TlsSpec, UpstreamTls

ACTIVE_ORDERS = (OrderStatus.DEPLOYING, OrderStatus.VALIDATING)


def certificate_ref(cert: Certificate) -> CertificateRef:
    return CertificateRef(
        certificate_id=cert.pk,
        fingerprint=cert.fingerprint,
        server_names=tuple(cert.dns_names),
        ocsp=bool(cert.ocsp_url) and cert.chain_length > 1,
    )


def tls_spec(vs: VirtualServer) -> TlsSpec | None:
    """The TLS part of `vs` for the snapshot; None when it has neither a binding nor pending answers."""
    binding = (
        VirtualServerTls.objects.filter(virtual_server_id=vs.pk)
        .prefetch_related("positions__certificate")
        .first()
    )
    challenges = tuple(
        AcmeChallengeSpec(c.token, c.key_authorization)
        for c in AcmeChallenge.objects.filter(virtual_server_id=vs.pk, order__status__in=ACTIVE_ORDERS)
    )
    if binding is None:
        return TlsSpec(acme_challenges=challenges) if challenges else None
    certificates = tuple(
        certificate_ref(p.certificate)
        for p in binding.positions.all()
        if p.certificate.status == CertificateStatus.VALID and p.certificate.fingerprint
    )
    upstream = None
    if binding.upstream_tls:
        upstream = UpstreamTls(
            verify=binding.upstream_verify,
            trusted_ca_pem=binding.upstream_ca_pem or None,
            server_name=binding.upstream_server_name or None,
        )
    return TlsSpec(
        https_ports=tuple(sorted(binding.https_ports)) if certificates else (),
        certificates=certificates,
        redirect_http=binding.redirect_http and bool(certificates),
        hsts_max_age_s=binding.hsts_max_age_s,
        hsts_include_subdomains=binding.hsts_include_subdomains,
        client_ca_pem=binding.client_ca_pem or None,
        client_auth=binding.client_auth,
        upstream=upstream,
        ocsp_resolvers=tuple(settings.LB_TLS["ocsp_resolvers"]),
        acme_challenges=challenges,
    )
