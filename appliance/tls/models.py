"""Certificates, ACME accounts and orders, and the TLS binding of a virtual server.

Metadata lives here; PEM material lives in object storage (`appliance.tls.materials`): the chain in
clear, the private key sealed by envelope encryption. Nothing in this module holds a private key.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from appliance.tls import validators as v
from appliance.tls.choices import CertificateSource, CertificateStatus, ClientAuth, OrderStatus

# Renew when two thirds of the lifetime have passed (Let's Encrypt's advice: 60 days into 90).
RENEW_AT_FRACTION = 2 / 3


class AcmeAccount(models.Model):
    """An account at an ACME CA (Let's Encrypt, a private CA); its key is sealed in object storage."""

    name = models.CharField(max_length=63, unique=True, validators=[v.validate_name])
    directory_url = models.URLField(max_length=500, validators=[v.validate_directory_url])
    email = models.EmailField(blank=True, default="")
    ca_bundle_pem = models.TextField(
        blank=True,
        default="",
        validators=[v.validate_ca_bundle],
        help_text="Trust anchors for the directory's HTTPS (a private CA); empty = the system's.",
    )
    account_uri = models.CharField(max_length=500, blank=True, default="", editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Certificate(models.Model):
    """A server certificate and the metadata of its current version (named by its fingerprint)."""

    name = models.CharField(max_length=63, unique=True, validators=[v.validate_name])
    source = models.CharField(max_length=16, choices=CertificateSource.choices)
    status = models.CharField(
        max_length=16, choices=CertificateStatus.choices, default=CertificateStatus.PENDING
    )
    common_name = models.CharField(max_length=253, blank=True, default="")
    subject = models.CharField(max_length=1000, blank=True, default="")
    issuer = models.CharField(max_length=1000, blank=True, default="")
    dns_names = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    not_after = models.DateTimeField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True, default="", help_text="SHA-256 of the leaf")
    serial = models.CharField(max_length=64, blank=True, default="")
    key_type = models.CharField(max_length=16, blank=True, default="")
    ocsp_url = models.CharField(max_length=500, blank=True, default="")
    chain_length = models.PositiveSmallIntegerField(default=0)
    acme_account = models.ForeignKey(
        AcmeAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    acme_domains = ArrayField(
        models.CharField(max_length=253, validators=[v.validate_dns_name]), default=list, blank=True, size=100
    )
    acme_virtual_server = models.ForeignKey(
        "lb.VirtualServer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Whose HTTP listeners answer the ACME HTTP-01 challenges.",
    )
    last_error = models.TextField(blank=True, default="")
    issued_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def renew_after(self) -> dt.datetime | None:
        if self.not_before is None or self.not_after is None:
            return None
        return self.not_before + (self.not_after - self.not_before) * RENEW_AT_FRACTION

    def seconds_left(self, now: dt.datetime | None = None) -> float | None:
        if self.not_after is None:
            return None
        return (self.not_after - (now or timezone.now())).total_seconds()


class AcmeOrder(models.Model):
    """One issuance (or renewal) of an ACME certificate, advanced step by step by a worker."""

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="acme_orders")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.DEPLOYING)
    order_json = models.TextField(blank=True, default="", help_text="The CA's order resource (public).")
    generation = models.BigIntegerField(default=0, help_text="Desired-state generation carrying the answers.")
    error = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"order {self.pk} for {self.certificate}"


class AcmeChallenge(models.Model):
    """An HTTP-01 answer the data plane serves while its order is being validated."""

    order = models.ForeignKey(AcmeOrder, on_delete=models.CASCADE, related_name="challenges")
    virtual_server = models.ForeignKey("lb.VirtualServer", on_delete=models.CASCADE, related_name="+")
    domain = models.CharField(max_length=253)
    token = models.CharField(max_length=128)
    key_authorization = models.CharField(max_length=200)
    challenge_json = models.TextField(help_text="The CA's challenge body, to answer it.")

    class Meta:
        ordering = ["token"]


class VirtualServerTls(models.Model):
    """HTTPS for a virtual server: listeners, certificates by SNI, HSTS, redirect, mTLS, upstream TLS."""

    virtual_server = models.OneToOneField("lb.VirtualServer", on_delete=models.CASCADE, related_name="tls")
    https_ports = ArrayField(models.PositiveIntegerField(validators=v.bounds("port")), size=8)
    certificates = models.ManyToManyField(Certificate, through="TlsCertificate", related_name="bindings")
    redirect_http = models.BooleanField(default=False, help_text="Answer plain HTTP with 301 to HTTPS.")
    hsts_max_age_s = models.PositiveIntegerField(default=0, validators=[v.validate_hsts_max_age])
    hsts_include_subdomains = models.BooleanField(default=False)
    client_auth = models.CharField(max_length=16, choices=ClientAuth.choices, default=ClientAuth.NONE)
    client_ca_pem = models.TextField(blank=True, default="", validators=[v.validate_ca_bundle])
    upstream_tls = models.BooleanField(default=False, help_text="Speak TLS to the upstream servers.")
    upstream_verify = models.BooleanField(default=True)
    upstream_ca_pem = models.TextField(blank=True, default="", validators=[v.validate_ca_bundle])
    upstream_server_name = models.CharField(
        max_length=253, blank=True, default="", validators=[v.validate_hostname]
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["virtual_server__name"]
        verbose_name = "TLS binding"

    def __str__(self) -> str:
        return f"TLS of {self.virtual_server}"

    def clean(self) -> None:
        """Cross-field rules; port conflicts with other virtual servers are checked by the service."""
        errors = {}
        if self.client_auth != ClientAuth.NONE and not self.client_ca_pem:
            errors["client_ca_pem"] = "client certificate verification needs a CA bundle"
        if self.upstream_tls and self.upstream_verify and not self.upstream_ca_pem:
            errors["upstream_ca_pem"] = "verifying the upstreams' certificates needs a CA bundle"
        if errors:
            raise ValidationError(errors)


class TlsCertificate(models.Model):
    """A certificate of a TLS binding; the lowest position is the default for names no other covers."""

    binding = models.ForeignKey(VirtualServerTls, on_delete=models.CASCADE, related_name="positions")
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["binding", "certificate"], name="tls_certificate_once_per_binding"
            )
        ]
