"""Enumerations of the TLS domain (stored values are the lowercase strings)."""

from django.db import models


class CertificateSource(models.TextChoices):
    UPLOADED = "uploaded", "uploaded"
    SELF_SIGNED = "self_signed", "self-signed"
    ACME = "acme", "ACME"


class CertificateStatus(models.TextChoices):
    PENDING = "pending", "pending (being issued)"
    VALID = "valid", "valid"
    FAILED = "failed", "issuance failed"


class KeyType(models.TextChoices):
    """Key types the appliance generates; uploads may also carry other RSA sizes (2048-8192)."""

    EC_P256 = "ec-p256", "EC P-256"
    EC_P384 = "ec-p384", "EC P-384"
    RSA_2048 = "rsa-2048", "RSA 2048"
    RSA_3072 = "rsa-3072", "RSA 3072"
    RSA_4096 = "rsa-4096", "RSA 4096"
    ED25519 = "ed25519", "Ed25519"


class ClientAuth(models.TextChoices):
    NONE = "none", "no client certificate"
    REQUIRED = "required", "client certificate required"
    OPTIONAL = "optional", "client certificate verified if sent"


class OrderStatus(models.TextChoices):
    DEPLOYING = "deploying", "waiting for the challenge answers to be live"
    VALIDATING = "validating", "the CA is validating"
    VALID = "valid", "issued"
    INVALID = "invalid", "failed"
