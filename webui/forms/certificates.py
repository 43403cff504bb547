"""Certificate forms (upload, generate, ACME) and the TLS binding of a virtual server.

Each is checked by the API's serializer (`appliance.tls.api.serializers`): the same PEM parsing, pairing
and name rules. A private key posted with a form is never rendered back into the page.
"""

from __future__ import annotations

from typing import Any

from django import forms

from appliance.lb.models import VirtualServer
from appliance.tls.api import serializers as s
from appliance.tls.choices import ClientAuth, KeyType
from appliance.tls.models import AcmeAccount, Certificate, VirtualServerTls
from webui.forms.serialized import InstanceForm, SecretTextarea, SerializerForm, comma_list

PEM_ROWS = {"rows": 8, "cols": 66, "spellcheck": "false"}


def name_field() -> forms.CharField:
    return forms.CharField(max_length=63, help_text="Letters, digits, '-', '_' and '.'; unique.")


def key_type_field() -> forms.ChoiceField:
    return forms.ChoiceField(choices=KeyType.choices, initial=KeyType.EC_P256, label="Key type")


class CertificateVersionForm(SerializerForm):
    """A new version (chain + key) of an existing certificate; bound virtual servers switch at reload."""

    serializer_class = s.PemPairSerializer

    chain_pem = forms.CharField(
        label="Certificate chain (PEM)",
        strip=False,
        widget=forms.Textarea(attrs=PEM_ROWS),
        help_text="The server certificate first, then its intermediates.",
    )
    private_key = forms.CharField(
        label="Private key (PEM)",
        strip=False,
        widget=SecretTextarea(attrs={**PEM_ROWS, "autocomplete": "off"}),
        help_text="Unencrypted; stored sealed and never shown again. Paste it again if the form is refused.",
    )


class CertificateUploadForm(CertificateVersionForm):
    serializer_class = s.CertificateUploadSerializer

    name = name_field()
    field_order = ["name", "chain_pem", "private_key"]


class CertificateGenerateForm(SerializerForm):
    serializer_class = s.CertificateGenerateSerializer

    name = name_field()
    dns_names = forms.CharField(
        label="DNS names", help_text="Comma-separated, e.g. shop.example.com, *.example.com."
    )
    key_type = key_type_field()
    days = forms.IntegerField(initial=365, help_text="Validity in days (1 to 3650).")

    def to_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {**cleaned, "dns_names": comma_list(cleaned.get("dns_names", ""))}


class CertificateAcmeForm(SerializerForm):
    serializer_class = s.CertificateAcmeSerializer

    name = name_field()
    domains = forms.CharField(help_text="Comma-separated host names the CA validates over HTTP-01.")
    acme_account = forms.ModelChoiceField(
        queryset=AcmeAccount.objects.only("id", "name", "directory_url"),
        label="ACME account",
        help_text="The CA account that orders it; admins add accounts on the ACME accounts page.",
    )
    virtual_server = forms.ModelChoiceField(
        queryset=VirtualServer.objects.only("id", "name"),
        help_text="Whose HTTP listeners answer the CA's challenges.",
    )
    key_type = key_type_field()

    def to_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            **cleaned,
            "domains": comma_list(cleaned.get("domains", "")),
            "acme_account": cleaned["acme_account"].pk,
            "virtual_server": cleaned["virtual_server"].pk,
        }


class AcmeAccountForm(InstanceForm):
    """An account at an ACME CA (admins); registered with the CA by the worker on its first order."""

    serializer_class = s.AcmeAccountSerializer

    name = name_field()
    directory_url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Directory URL",
        help_text="e.g. https://acme-v02.api.letsencrypt.org/directory",
    )
    email = forms.EmailField(required=False, help_text="Contact the CA writes to about expiry and problems.")
    ca_bundle_pem = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs=PEM_ROWS),
        label="CA bundle (PEM)",
        help_text=AcmeAccount._meta.get_field("ca_bundle_pem").help_text,
    )


class VirtualServerTlsForm(SerializerForm):
    """HTTPS of one virtual server; the first certificate answers names no other certificate covers."""

    serializer_class = s.VirtualServerTlsSerializer
    field_aliases = {"certificates": "default_certificate"}

    https_ports = forms.CharField(label="HTTPS ports", help_text="Comma-separated, e.g. 443.")
    default_certificate = forms.ModelChoiceField(
        queryset=Certificate.objects.only("id", "name"),
        help_text="Answers every name that no other certificate below covers.",
    )
    more_certificates = forms.ModelMultipleChoiceField(
        queryset=Certificate.objects.only("id", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Chosen by SNI when the client asks for one of their names.",
    )
    redirect_http = forms.BooleanField(required=False, label="Redirect plain HTTP to HTTPS")
    hsts_max_age_s = forms.IntegerField(initial=0, label="HSTS max-age (s)", help_text="0 = no HSTS.")
    hsts_include_subdomains = forms.BooleanField(required=False, label="HSTS includeSubDomains")
    client_auth = forms.ChoiceField(choices=ClientAuth.choices, initial=ClientAuth.NONE)
    client_ca_pem = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs=PEM_ROWS), label="Client CA bundle (PEM)"
    )
    upstream_tls = forms.BooleanField(required=False, label="Speak TLS to the upstream servers")
    upstream_verify = forms.BooleanField(required=False, initial=True, label="Verify the upstreams")
    upstream_ca_pem = forms.CharField(
        required=False, strip=False, widget=forms.Textarea(attrs=PEM_ROWS), label="Upstream CA bundle (PEM)"
    )
    upstream_server_name = forms.CharField(required=False, max_length=253)

    def __init__(self, *args: Any, virtual_server: VirtualServer, **kwargs: Any) -> None:
        instance: VirtualServerTls | None = kwargs.get("instance")
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_of(instance)
        super().__init__(*args, **kwargs)
        self.virtual_server = virtual_server

    @staticmethod
    def initial_of(binding: VirtualServerTls) -> dict[str, Any]:
        names = [field for field in VirtualServerTlsForm.base_fields if hasattr(binding, field)]
        initial = {name: getattr(binding, name) for name in names}
        ids = [position.certificate_id for position in binding.positions.all()]
        initial["https_ports"] = ", ".join(str(port) for port in binding.https_ports)
        initial["default_certificate"] = ids[0] if ids else None
        initial["more_certificates"] = ids[1:]
        return initial

    def to_data(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        default, more = cleaned.pop("default_certificate"), cleaned.pop("more_certificates")
        others = [cert.pk for cert in more if cert.pk != default.pk]
        return {
            **cleaned,
            "virtual_server": self.virtual_server.pk,
            "https_ports": comma_list(cleaned.get("https_ports", "")),
            "certificates": [default.pk, *others],
        }
