"""One serializer per model plus the input shapes of the certificate actions (upload, generate, ACME).

Private keys are write-only input: no serializer ever outputs one. PEM input is parsed here so a bad
chain or key is a field-level 400, before anything is stored.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from appliance.lb.api.serializers import CleanModelSerializer
from appliance.lb.models import VirtualServer
from appliance.tls import pem, services
from appliance.tls import validators as v
from appliance.tls.choices import KeyType
from appliance.tls.models import AcmeAccount, Certificate, VirtualServerTls


def _bundle(value: str, field: str) -> str:
    """Trust anchors re-serialized canonically (the field validator already refused anything else)."""
    if not value:
        return ""
    try:
        return pem.ca_bundle(value, field)
    except pem.PemError as exc:
        raise serializers.ValidationError(str(exc)) from None


class CertificateSerializer(serializers.ModelSerializer):
    days_left = serializers.SerializerMethodField()
    expiring = serializers.SerializerMethodField()
    renew_after = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Certificate
        fields = [
            "id",
            "name",
            "source",
            "status",
            "common_name",
            "dns_names",
            "subject",
            "issuer",
            "not_before",
            "not_after",
            "days_left",
            "expiring",
            "renew_after",
            "fingerprint",
            "serial",
            "key_type",
            "ocsp_url",
            "chain_length",
            "acme_account",
            "acme_domains",
            "acme_virtual_server",
            "last_error",
            "issued_at",
            "created",
            "updated",
        ]
        read_only_fields = fields

    def get_days_left(self, cert: Certificate) -> float | None:
        seconds = cert.seconds_left(timezone.now())
        return None if seconds is None else round(seconds / 86400, 1)

    def get_expiring(self, cert: Certificate) -> bool:
        """Expires within the warning window (`LB_CERT_EXPIRY_WARNING_DAYS`), or already has."""
        seconds = cert.seconds_left(timezone.now())
        return seconds is not None and seconds < settings.LB_TLS["expiry_warning_days"] * 86400


def _valid_unique_name(name: str) -> str:
    # One validator, so the database is only asked about names that passed the allow-list (DRF runs
    # every validator of a field even after one failed, and PostgreSQL refuses a NUL in a query).
    v.validate_name(name)
    if Certificate.objects.filter(name=name).exists():
        raise serializers.ValidationError("a certificate with this name already exists")
    return name


def _new_name() -> serializers.CharField:
    """A new certificate's name: an allow-listed identifier not in use yet."""
    return serializers.CharField(max_length=63, validators=[_valid_unique_name])


class PemPairSerializer(serializers.Serializer):
    """A chain (leaf first) and its unencrypted private key, checked against each other."""

    chain_pem = serializers.CharField(trim_whitespace=False, max_length=pem.MAX_PEM)
    private_key = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=pem.MAX_PEM, style={"input_type": "password"}
    )

    def validate(self, attrs: dict) -> dict:
        try:
            chain = pem.load_chain(attrs["chain_pem"])
            key = pem.load_key(attrs["private_key"])
            pem.check_pair(chain, key, timezone.now())
        except pem.PemError as exc:
            raise serializers.ValidationError({exc.field: [str(exc)]}) from None
        return attrs


class CertificateUploadSerializer(PemPairSerializer):
    name = _new_name()


class CertificateGenerateSerializer(serializers.Serializer):
    name = _new_name()
    dns_names = serializers.ListField(
        child=serializers.CharField(max_length=253, validators=[v.validate_dns_name]),
        min_length=1,
        max_length=100,
    )
    key_type = serializers.ChoiceField(choices=KeyType.choices, default=KeyType.EC_P256)
    days = serializers.IntegerField(min_value=1, max_value=3650, default=365)


class CertificateAcmeSerializer(serializers.Serializer):
    name = _new_name()
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253, validators=[v.validate_hostname]),
        min_length=1,
        max_length=100,
    )
    acme_account = serializers.PrimaryKeyRelatedField(queryset=AcmeAccount.objects.all())
    virtual_server = serializers.PrimaryKeyRelatedField(
        queryset=VirtualServer.objects.all(), help_text="Whose HTTP listeners answer the HTTP-01 challenges."
    )
    key_type = serializers.ChoiceField(choices=KeyType.choices, default=KeyType.EC_P256)


class AcmeAccountSerializer(CleanModelSerializer):
    class Meta:
        model = AcmeAccount
        fields = [
            "id",
            "name",
            "directory_url",
            "email",
            "ca_bundle_pem",
            "account_uri",
            "created",
            "updated",
        ]
        read_only_fields = ["account_uri"]

    def validate_ca_bundle_pem(self, value: str) -> str:
        return _bundle(value, "ca_bundle_pem")


class VirtualServerTlsSerializer(CleanModelSerializer):
    certificates = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=Certificate.objects.all(),
        help_text="In order: the first answers names that no other certificate covers.",
    )

    class Meta:
        model = VirtualServerTls
        fields = [
            "id",
            "virtual_server",
            "https_ports",
            "certificates",
            "redirect_http",
            "hsts_max_age_s",
            "hsts_include_subdomains",
            "client_auth",
            "client_ca_pem",
            "upstream_tls",
            "upstream_verify",
            "upstream_ca_pem",
            "upstream_server_name",
            "created",
            "updated",
        ]

    def to_representation(self, instance: VirtualServerTls) -> dict:
        data = super().to_representation(instance)
        data["certificates"] = [p.certificate_id for p in instance.positions.all()]
        return data

    def validate_https_ports(self, ports: list[int]) -> list[int]:
        if not ports:
            raise serializers.ValidationError("at least one HTTPS port is required")
        return sorted(ports)

    def validate_certificates(self, certificates: list[Certificate]) -> list[Certificate]:
        if not certificates:
            raise serializers.ValidationError("at least one certificate is required")
        if len({c.pk for c in certificates}) != len(certificates):
            raise serializers.ValidationError("a certificate may appear only once")
        return certificates

    def validate_client_ca_pem(self, value: str) -> str:
        return _bundle(value, "client_ca_pem")

    def validate_upstream_ca_pem(self, value: str) -> str:
        return _bundle(value, "upstream_ca_pem")

    def validate(self, attrs: dict) -> dict:
        certificates = attrs.pop("certificates", None)
        attrs = super().validate(attrs)
        vs = attrs.get("virtual_server") or getattr(self.instance, "virtual_server", None)
        ports = attrs.get("https_ports", getattr(self.instance, "https_ports", None))
        if vs is not None and ports is not None:
            problems = services.https_port_errors(vs, ports)
            if problems:
                raise serializers.ValidationError({"https_ports": problems})
        if certificates is not None:
            attrs["certificates"] = certificates
        return attrs

    def create(self, validated: dict) -> VirtualServerTls:
        certificates = validated.pop("certificates")
        binding = VirtualServerTls.objects.create(**validated)
        self._set_certificates(binding, certificates)
        return binding

    def update(self, instance: VirtualServerTls, validated: dict) -> VirtualServerTls:
        certificates = validated.pop("certificates", None)
        instance = super().update(instance, validated)
        if certificates is not None:
            self._set_certificates(instance, certificates)
        return instance

    def _set_certificates(self, binding: VirtualServerTls, certificates: list[Certificate]) -> None:
        binding.positions.all().delete()
        for position, cert in enumerate(certificates):
            binding.positions.create(certificate=cert, position=position)
