"""A small test PKI: CAs, server and client certificates, made with `cryptography` on the spot.

`fixed_ca` is deterministic (Ed25519 from a seed, fixed dates and serial), for golden files; everything
else uses fresh keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

UTC = dt.UTC


@dataclass
class Issued:
    cert: x509.Certificate
    key: object
    chain: list[x509.Certificate]

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def chain_pem(self) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in [self.cert, *self.chain])

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()


def new_key(kind: str = "ec"):  # type: ignore[no-untyped-def]
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "secp521r1":
        return ec.generate_private_key(ec.SECP521R1())
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _sign(builder: x509.CertificateBuilder, key) -> x509.Certificate:  # type: ignore[no-untyped-def]
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm)


def make_ca(common_name: str, key=None, issuer: Issued | None = None, days: int = 3650) -> Issued:  # type: ignore[no-untyped-def]
    key = key or new_key()
    now = dt.datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    )
    cert = _sign(builder, issuer.key if issuer else key)
    return Issued(cert, key, [issuer.cert, *issuer.chain] if issuer else [])


def fixed_ca(common_name: str) -> str:
    """A CA certificate PEM that is the same on every run (for golden files)."""
    seed = hashlib.sha256(common_name.encode()).digest()
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(int.from_bytes(seed[:8], "big"))
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=36500))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    return builder.sign(key, None).public_bytes(serialization.Encoding.PEM).decode()


def issue(  # type: ignore[no-untyped-def]
    ca: Issued,
    names: list[str],
    key=None,
    days: int = 90,
    start: dt.datetime | None = None,
    ocsp_url: str | None = None,
    client: bool = False,
) -> Issued:
    """A leaf certificate for `names` (SANs; the first is also the CN) signed by `ca`."""
    key = key or new_key()
    start = start or dt.datetime.now(UTC) - dt.timedelta(hours=1)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if not client:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    # The chain a server sends: the intermediates, without the root.
    return Issued(_sign(builder, ca.key), key, [ca.cert, *ca.chain][:-1])
