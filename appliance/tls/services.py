"""Business rules of certificates and TLS bindings, shared by the API, the commands and the workers.

A certificate version is validated (`appliance.tls.pem`), its material stored in object storage (the key
sealed), and only then recorded as current in PostgreSQL. When a bound certificate gets a new version,
desired state changes: the next revision names the new version's files, and the normal graceful reload
puts it live. Object-storage outages raise `StorageError` (the API answers 503; nothing is recorded).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from appliance.lb import services as lb_services
from appliance.lb.models import VirtualServer
from appliance.tls import materials, pem
from appliance.tls.choices import CertificateSource, CertificateStatus, KeyType, OrderStatus
from appliance.tls.models import AcmeAccount, AcmeOrder, Certificate, TlsCertificate

ACTIVE_ORDERS = (OrderStatus.DEPLOYING, OrderStatus.VALIDATING)


def store_version(
    cert: Certificate, chain_text: str, key_text: str, now: dt.datetime | None = None, author: str = "tls"
) -> None:
    """Validate a chain + key and make it `cert`'s current version. Raises PemError or StorageError."""
    now = now or timezone.now()
    chain = pem.load_chain(chain_text)
    key = pem.load_key(key_text)
    pem.check_pair(chain, key, now)
    info = pem.info(chain, key)
    materials.store_version(cert.pk, info.fingerprint, pem.chain_pem(chain), pem.key_pem(key))
    cert.common_name, cert.subject, cert.issuer = info.common_name, info.subject, info.issuer
    cert.dns_names = list(info.dns_names)
    cert.not_before, cert.not_after = info.not_before, info.not_after
    cert.fingerprint, cert.serial, cert.key_type = info.fingerprint, info.serial, info.key_type
    cert.ocsp_url, cert.chain_length = info.ocsp_url, info.chain_length
    cert.status, cert.last_error, cert.issued_at = CertificateStatus.VALID, "", now
    cert.save()
    if is_bound(cert):
        lb_services.mark_changed(f"certificate {cert.name} version {info.fingerprint[:16]}", author)


def is_bound(cert: Certificate) -> bool:
    return TlsCertificate.objects.filter(certificate=cert).exists()


def upload(name: str, chain_text: str, key_text: str, author: str = "") -> Certificate:
    with transaction.atomic():
        cert = Certificate.objects.create(name=name, source=CertificateSource.UPLOADED)
        store_version(cert, chain_text, key_text, author=author)
    return cert


def replace(cert: Certificate, chain_text: str, key_text: str, author: str = "") -> Certificate:
    """A new version of an uploaded or self-signed certificate (ACME ones renew themselves)."""
    if cert.source == CertificateSource.ACME:
        raise pem.PemError("chain_pem", "ACME certificates are renewed by the CA, not uploaded")
    with transaction.atomic():
        cert.source = CertificateSource.UPLOADED
        store_version(cert, chain_text, key_text, author=author)
    return cert


def generate_self_signed(name: str, names: list[str], key_type: str, days: int) -> Certificate:
    with transaction.atomic():
        cert = Certificate.objects.create(name=name, source=CertificateSource.SELF_SIGNED)
        _self_sign(cert, names, key_type, days)
    return cert


def _self_sign(cert: Certificate, names: list[str], key_type: str, days: int) -> None:
    now = timezone.now()
    key = pem.generate_key(key_type)
    issued = pem.self_signed(names, key, days, now)
    store_version(cert, pem.chain_pem([issued]), pem.key_pem(key).decode(), now)


def request_acme(
    name: str, domains: list[str], account: AcmeAccount, virtual_server: VirtualServer, key_type: str
) -> Certificate:
    """A certificate issued over ACME; the order runs in a worker (HTTP-01 on `virtual_server`)."""
    with transaction.atomic():
        cert = Certificate.objects.create(
            name=name,
            source=CertificateSource.ACME,
            status=CertificateStatus.PENDING,
            acme_account=account,
            acme_domains=sorted(set(domains)),
            acme_virtual_server=virtual_server,
            key_type=key_type or pem.DEFAULT_KEY_TYPE,
        )
        start_order(cert)
    return cert


def start_order(cert: Certificate) -> AcmeOrder:
    """The active order of `cert`, or a new one handed to the worker after commit (ids only)."""
    active = cert.acme_orders.filter(status__in=ACTIVE_ORDERS).first()
    if active is not None:
        return active
    order = AcmeOrder.objects.create(certificate=cert)
    from workers.tls import advance_acme_order

    transaction.on_commit(lambda: advance_acme_order.delay(order.pk))
    return order


def renew(cert: Certificate) -> AcmeOrder | None:
    """Renew now: ACME certificates get an order, self-signed ones a fresh version (same names)."""
    if cert.source == CertificateSource.ACME:
        with transaction.atomic():
            return start_order(cert)
    if cert.source == CertificateSource.SELF_SIGNED and cert.not_before and cert.not_after:
        days = max(1, (cert.not_after - cert.not_before).days)
        with transaction.atomic():
            _self_sign(cert, list(cert.dns_names), _generation_type(cert.key_type), days)
        return None
    raise pem.PemError("source", "uploaded certificates are renewed by uploading a new version")


def _generation_type(key_type: str) -> str:
    return key_type if key_type in KeyType.values else pem.DEFAULT_KEY_TYPE


def renewal_due(cert: Certificate, now: dt.datetime) -> bool:
    """ACME certificates are renewed once two thirds of their lifetime have passed."""
    due = cert.renew_after
    return cert.source == CertificateSource.ACME and due is not None and now >= due


def renew_due(now: dt.datetime | None = None) -> list[int]:
    """Start an order for every ACME certificate due for renewal; returns the certificate ids."""
    now = now or timezone.now()
    started = []
    for cert in Certificate.objects.filter(source=CertificateSource.ACME, status=CertificateStatus.VALID):
        if renewal_due(cert, now) and not cert.acme_orders.filter(status__in=ACTIVE_ORDERS).exists():
            with transaction.atomic():
                start_order(cert)
            started.append(cert.pk)
    return started


def certificate_expiry_seconds(now: dt.datetime | None = None) -> dict[str, float]:
    """Seconds until each issued certificate expires (negative once expired), by name: for metrics."""
    now = now or timezone.now()
    return {
        cert.name: float(cert.seconds_left(now) or 0.0)
        for cert in Certificate.objects.exclude(not_after=None).only("name", "not_after")
    }


def https_port_errors(vs: VirtualServer, https_ports: list[int]) -> list[str]:
    """A port serves either HTTP or HTTPS, on every virtual server."""
    problems = []
    if len(set(https_ports)) != len(https_ports):
        problems.append("HTTPS ports must not repeat")
    for port in sorted(set(https_ports)):
        if port in vs.http_ports:
            problems.append(f"port {port} is already an HTTP port of this virtual server")
        elif VirtualServer.objects.filter(http_ports__contains=[port]).exclude(pk=vs.pk).exists():
            problems.append(f"port {port} is an HTTP port of another virtual server")
    return problems
