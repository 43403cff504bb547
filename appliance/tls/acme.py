"""ACME issuance with HTTP-01 answered by the data plane itself (certbot's `acme` library).

An order advances one step per task run (`workers.tls.advance_acme_order`), so no worker waits on the CA
or on nginx:

1. start: make the certificate's key (sealed into object storage at once), a CSR, and the order; store
   each HTTP-01 token with its key authorization; `mark_changed` compiles them into the relevant virtual
   server's HTTP listeners (`location = /.well-known/acme-challenge/<token>`).
2. deploying: wait until a revision carrying them is applied on every node, then answer the challenges.
3. validating: the CA fetches the answers from the data plane; once the order is ready, finalize it,
   check the issued chain against the key, and store it as the certificate's new version. The answers
   are withdrawn and the new version goes live with the next revision.

The account key (EC P-256) is sealed in object storage too; the account URI is in PostgreSQL. An order
that has not finished after ORDER_TIMEOUT fails with its reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator

import josepy as jose
import requests
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.utils import timezone

from appliance.core.storage import ObjectNotFound, StorageError
from appliance.lb import services as lb_services
from appliance.lb.choices import RevisionStatus
from appliance.lb.models import ConfigRevision, DesiredState
from appliance.tls import materials, pem, services
from appliance.tls.choices import CertificateStatus, OrderStatus
from appliance.tls.models import AcmeAccount, AcmeChallenge, AcmeOrder

ORDER_TIMEOUT = dt.timedelta(minutes=10)
POLL_DEADLINE = dt.timedelta(seconds=60)
WAITING = (OrderStatus.DEPLOYING, OrderStatus.VALIDATING)
# Network trouble with the CA or the object storage: the task retries with back-off.
TRANSIENT_ERRORS = (StorageError, requests.RequestException, errors.ClientError)


class AcmeFailure(RuntimeError):
    """The CA refused or the order cannot complete; the order fails with this message."""


@contextlib.contextmanager
def account_client(account: AcmeAccount) -> Iterator[tuple[client.ClientV2, jose.JWK]]:
    """A client signed with the account's key, registered at the CA on first use."""
    jwk = jose.JWKEC(key=_account_key(account))
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as bundle:
        verify: bool | str = True
        if account.ca_bundle_pem:
            bundle.write(account.ca_bundle_pem)
            bundle.flush()
            verify = bundle.name
        # `verify_ssl` goes to requests' `verify`, which also takes a CA bundle path (typed as bool only).
        net = client.ClientNetwork(
            jwk,
            alg=jose.ES256,
            verify_ssl=verify,
            user_agent="lb-appliance",  # type: ignore[arg-type]
        )
        ca = client.ClientV2(client.ClientV2.get_directory(account.directory_url, net), net)
        if account.account_uri:
            net.account = messages.RegistrationResource(body=messages.Registration(), uri=account.account_uri)
        else:
            _register(ca, account)
        yield ca, jwk


def _account_key(account: AcmeAccount) -> ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives import serialization

    object_key = materials.account_key_key(account.pk)
    try:
        key = serialization.load_pem_private_key(materials.load_sealed(object_key), password=None)
    except ObjectNotFound:
        key = ec.generate_private_key(ec.SECP256R1())
        materials.store_sealed(object_key, pem.key_pem(key))
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _register(ca: client.ClientV2, account: AcmeAccount) -> None:
    registration = messages.NewRegistration.from_data(
        email=account.email or None, terms_of_service_agreed=True
    )
    try:
        uri = ca.new_account(registration).uri
    except errors.ConflictError as exc:  # the key is already registered: reuse that account
        uri = exc.location
        ca.net.account = messages.RegistrationResource(body=messages.Registration(), uri=uri)
    AcmeAccount.objects.filter(pk=account.pk).update(account_uri=uri)
    account.account_uri = uri


def advance(order_id: int) -> str:
    """Move an order one step on; returns its status (DEPLOYING/VALIDATING mean: call again later)."""
    order = AcmeOrder.objects.select_related("certificate__acme_account").get(pk=order_id)
    if order.status not in WAITING:
        return order.status
    try:
        if timezone.now() - order.created > ORDER_TIMEOUT:
            raise AcmeFailure(f"the order did not complete within {ORDER_TIMEOUT}")
        if not order.order_json:
            _start(order)
        elif order.status == OrderStatus.DEPLOYING:
            if _answers_live(order):
                _answer(order)
        else:
            _finish(order)
    except (AcmeFailure, errors.Error, messages.Error, pem.PemError) as exc:
        _fail(order, _describe(exc))
    return order.status


def _describe(exc: Exception) -> str:
    """The CA's own words: which name failed validation and why."""
    if isinstance(exc, errors.ValidationError):
        reasons = [
            f"{authz.body.identifier.value}: {challenge.error.detail or challenge.error.typ}"
            for authz in exc.failed_authzrs
            for challenge in authz.body.challenges
            if challenge.error is not None
        ]
        return "validation failed: " + "; ".join(reasons)
    return str(exc) or type(exc).__name__


def _start(order: AcmeOrder) -> None:
    cert = order.certificate
    if cert.acme_account is None or cert.acme_virtual_server_id is None:
        raise AcmeFailure("the certificate has no ACME account or no virtual server to answer on")
    key = pem.generate_key(cert.key_type or pem.DEFAULT_KEY_TYPE)
    key_pem = pem.key_pem(key)
    materials.store_sealed(materials.order_key_key(cert.pk, order.pk), key_pem)
    csr = crypto_util.make_csr(key_pem, list(cert.acme_domains))
    with account_client(cert.acme_account) as (ca, jwk):
        resource = ca.new_order(csr)
    with transaction.atomic():
        for authz in resource.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue  # the CA reused an earlier validation
            challb = next((c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)), None)
            if challb is None:
                raise AcmeFailure(f"the CA offers no HTTP-01 challenge for {authz.body.identifier.value}")
            _, key_authorization = challb.response_and_validation(jwk)
            AcmeChallenge.objects.create(
                order=order,
                virtual_server_id=cert.acme_virtual_server_id,
                domain=authz.body.identifier.value,
                token=challb.chall.encode("token"),
                key_authorization=key_authorization,
                challenge_json=challb.json_dumps(),
            )
        order.order_json = resource.json_dumps()
        order.generation = lb_services.mark_changed(f"ACME challenges for certificate {cert.name}", "acme")
        order.save(update_fields=["order_json", "generation", "updated"])


def _answers_live(order: AcmeOrder) -> bool:
    """A revision compiled from the order's generation (or later) is applied on every node."""
    state = DesiredState.objects.filter(pk=1).first()
    latest = ConfigRevision.objects.order_by("-number").first()
    return bool(
        state
        and state.compiled_generation >= order.generation
        and latest
        and latest.status == RevisionStatus.APPLIED
    )


def _answer(order: AcmeOrder) -> None:
    with account_client(order.certificate.acme_account) as (ca, jwk):
        for challenge in order.challenges.all():
            challb = messages.ChallengeBody.json_loads(challenge.challenge_json)
            ca.answer_challenge(challb, challb.response(jwk))
    order.status = OrderStatus.VALIDATING
    order.save(update_fields=["status", "updated"])


def _finish(order: AcmeOrder) -> None:
    cert = order.certificate
    resource = messages.OrderResource.json_loads(order.order_json)
    deadline = dt.datetime.now() + POLL_DEADLINE
    with account_client(cert.acme_account) as (ca, _):
        resource = ca.poll_authorizations(resource, deadline)
        resource = ca.finalize_order(resource, deadline)
    key_pem = materials.load_sealed(materials.order_key_key(cert.pk, order.pk))
    with transaction.atomic():
        services.store_version(cert, resource.fullchain_pem, key_pem.decode())
        order.status = OrderStatus.VALID
        order.save(update_fields=["status", "updated"])
        order.challenges.all().delete()
        lb_services.mark_changed(f"certificate {cert.name} issued over ACME", "acme")


def _fail(order: AcmeOrder, message: str) -> None:
    cert = order.certificate
    with transaction.atomic():
        order.status, order.error = OrderStatus.INVALID, message[:4000]
        order.save(update_fields=["status", "error", "updated"])
        order.challenges.all().delete()
        cert.last_error = message[:4000]
        if not cert.fingerprint:
            cert.status = CertificateStatus.FAILED
        cert.save(update_fields=["last_error", "status", "updated"])
        lb_services.mark_changed(f"ACME order for certificate {cert.name} failed", "acme")
