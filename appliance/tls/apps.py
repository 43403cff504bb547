"""TLS domain: certificates (uploaded, self-signed, ACME), TLS bindings of virtual servers."""

from django.apps import AppConfig


class TlsConfig(AppConfig):
    name = "appliance.tls"
    label = "tls"
    verbose_name = "TLS and certificates"
