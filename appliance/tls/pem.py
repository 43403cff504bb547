"""PEM certificates and private keys: strict parsing, validation, metadata, and generation.

Everything an operator uploads passes through here before it is stored: the chain must hold certificates
only, leaf first, each signed by the next; the key must be unencrypted, of an allowed type and size, and
match the leaf; the leaf must be valid now and name at least one DNS host. What is stored is re-serialized
from the parsed objects, never the uploaded text.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    PrivateKeyTypes,
    PublicKeyTypes,
)
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from nginx import validation

MAX_PEM = 256 * 1024
MAX_CHAIN = 10
_CERT_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_KEY_LABELS = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"}
DEFAULT_KEY_TYPE = "ec-p256"
_CURVES = {"secp256r1": "ec-p256", "secp384r1": "ec-p384"}


class PemError(ValueError):
    """Refused PEM input; `field` names the API field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CertificateInfo:
    """What the appliance keeps about one certificate version (PostgreSQL), besides the PEM itself."""

    common_name: str
    subject: str
    issuer: str
    dns_names: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint: str
    serial: str
    key_type: str
    ocsp_url: str
    chain_length: int


def _labels(text: str) -> list[str]:
    return _CERT_BLOCK.findall(text)


def load_chain(text: str, field: str = "chain_pem") -> list[x509.Certificate]:
    """Certificates only (no keys or other blocks), at least one, at most MAX_CHAIN."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_PEM or not text.isascii():
        raise PemError(field, f"must be PEM text of at most {MAX_PEM} bytes")
    labels = _labels(text)
    if not labels or any(label != "CERTIFICATE" for label in labels):
        raise PemError(field, "must contain only PEM CERTIFICATE blocks (no keys or other objects)")
    try:
        certs = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise PemError(field, "a certificate could not be parsed") from None
    if len(certs) != len(labels) or len(certs) > MAX_CHAIN:
        raise PemError(field, f"must contain 1 to {MAX_CHAIN} well-formed certificates")
    return certs


def load_key(text: str, field: str = "private_key") -> PrivateKeyTypes:
    """One unencrypted private key of an allowed type and size."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_PEM or not text.isascii():
        raise PemError(field, "must be a PEM private key")
    labels = _labels(text)
    if len(labels) != 1 or labels[0] not in _KEY_LABELS:
        raise PemError(field, "must contain exactly one unencrypted PEM private key")
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise PemError(field, "the private key could not be read (encrypted keys are not accepted)") from None
    key_type_of(key, field)
    return key


def key_type_of(key: PrivateKeyTypes | PublicKeyTypes, field: str = "private_key") -> str:
    """The allow-listed key type: RSA 2048-8192 bits, EC P-256/P-384, Ed25519."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if not 2048 <= key.key_size <= 8192:
            raise PemError(field, f"RSA keys must have 2048 to 8192 bits, not {key.key_size}")
        return f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVES:
            raise PemError(field, f"EC keys must use P-256 or P-384, not {key.curve.name}")
        return _CURVES[key.curve.name]
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    raise PemError(field, "key type not allowed: use RSA (2048+), EC P-256/P-384 or Ed25519")


def _public_bytes(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_pair(chain: list[x509.Certificate], key: PrivateKeyTypes, now: dt.datetime) -> None:
    """Key matches the leaf, chain in order (leaf → intermediates), leaf valid now, DNS names present."""
    leaf = chain[0]
    public = _public_bytes(key.public_key())
    if public != _public_bytes(leaf.public_key()):
        if any(public == _public_bytes(c.public_key()) for c in chain[1:]):
            raise PemError(
                "chain_pem", "out of order: the certificate of this key (the leaf) must come first"
            )
        raise PemError("private_key", "the private key does not belong to the first (leaf) certificate")
    key_type_of(leaf.public_key(), "chain_pem")
    for index, (child, parent) in enumerate(itertools.pairwise(chain)):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            raise PemError(
                "chain_pem",
                f"certificate {index + 2} did not issue certificate {index + 1}: "
                "order the chain leaf first, then each issuer",
            ) from None
    if leaf.not_valid_after_utc <= now:
        raise PemError("chain_pem", f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc > now:
        raise PemError(
            "chain_pem", f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}"
        )
    if not dns_names(leaf):
        raise PemError("chain_pem", "the certificate names no DNS host (subjectAltName) it is valid for")


def dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The certificate's DNS subject alternative names that are valid server names, lowercased."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    out = []
    for name in names.get_values_for_type(x509.DNSName):
        try:
            out.append(validation.validate_server_name(name.lower()))
        except ValueError:
            continue  # a name nginx could not use for SNI is not offered as one
    return tuple(sorted(set(out)))


def ocsp_url(cert: x509.Certificate) -> str:
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return ""
    urls = [d.access_location.value for d in access if d.access_method == AuthorityInformationAccessOID.OCSP]
    return str(urls[0])[:500] if urls else ""


def info(chain: list[x509.Certificate], key: PrivateKeyTypes) -> CertificateInfo:
    leaf = chain[0]
    common = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertificateInfo(
        common_name=str(common[0].value)[:253] if common else "",
        subject=leaf.subject.rfc4514_string()[:1000],
        issuer=leaf.issuer.rfc4514_string()[:1000],
        dns_names=dns_names(leaf),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        fingerprint=leaf.fingerprint(hashes.SHA256()).hex(),
        serial=format(leaf.serial_number, "x"),
        key_type=key_type_of(key),
        ocsp_url=ocsp_url(leaf),
        chain_length=len(chain),
    )


def chain_pem(chain: list[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)


def key_pem(key: PrivateKeyTypes) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def ca_bundle(text: str, field: str) -> str:
    """Trust anchors (client CA, upstream CA): certificates only, re-serialized canonically."""
    return chain_pem(load_chain(text, field))


def generate_key(key_type: str) -> CertificateIssuerPrivateKeyTypes:
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    if key_type == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def self_signed(
    names: list[str], key: CertificateIssuerPrivateKeyTypes, days: int, now: dt.datetime
) -> x509.Certificate:
    """A self-signed server certificate for `names` (the first is also the common name)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)
