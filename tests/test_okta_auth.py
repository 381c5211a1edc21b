"""Authentication to Okta: SSWS, and OAuth 2.0 private_key_jwt with DPoP, against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from exporter.config.privatekey import load_private_key
from exporter.okta.auth import OAuthAuth, htu, token_hash
from exporter.okta.client import OktaClient
from exporter.okta.errors import ApiError
from exporter.okta.query import polling_url
from tests.conftest import NOW, FakeTime, pem
from tests.okta_emulator import Emulator, log_event

CLIENT_ID = "0oaexporter"
TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"


@pytest.fixture
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


class Org:
    """The emulated org, with a client factory that closes what it made."""

    def __init__(self, url: str, emulator: Emulator, time: FakeTime) -> None:
        self.url, self.emulator, self.time = url, emulator, time
        self.clients: list[OktaClient] = []

    def oauth(
        self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, **options: object
    ) -> OAuthAuth:
        return OAuthAuth(self.url, CLIENT_ID, key, clock=self.time.clock, **options)  # type: ignore[arg-type]

    def client(self, auth: OAuthAuth) -> OktaClient:
        self.clients.append(OktaClient(self.url, auth, clock=self.time.clock))
        return self.clients[-1]

    def first_url(self) -> str:
        return polling_url(self.url, NOW - 3600)


@pytest.fixture
async def org(org_url: str, emulator: Emulator, fake_time: FakeTime) -> AsyncIterator[Org]:
    emulator.add(log_event("e1", TERMINAL, NOW - 60))
    made = Org(org_url, emulator, fake_time)
    yield made
    for client in made.clients:
        await client.close()


async def test_dpop_token_comes_after_the_nonce_retry_and_is_cached_until_expiry(
    org: Org, rsa_key: rsa.RSAPrivateKey
) -> None:
    org.emulator.public_key = rsa_key.public_key()
    client = org.client(org.oauth(rsa_key))
    page = await client.get_page(org.first_url())
    assert len(page.items) == 1
    assert org.emulator.token_requests == [400, 200]  # use_dpop_nonce, then the token
    assert page.next_url is not None
    for _ in range(3):
        await client.get_page(page.next_url)
    assert org.emulator.token_requests == [400, 200]  # the token is reused
    org.time.now += 3600 - 60  # the renewal point: a minute before Okta's expiry
    await client.get_page(page.next_url)
    assert org.emulator.token_requests == [400, 200, 200]  # the nonce was kept: no refusal


async def test_an_ec_key_signs_with_es256(org: Org, ec_key: ec.EllipticCurvePrivateKey) -> None:
    org.emulator.public_key = ec_key.public_key()
    auth = org.oauth(ec_key)
    assert jwt.get_unverified_header(auth.client_assertion())["alg"] == "ES256"
    assert len((await org.client(auth).get_page(org.first_url())).items) == 1


async def test_a_key_okta_does_not_know_is_refused_as_invalid_client(
    org: Org, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    org.emulator.public_key = ec_key.public_key()  # registered: another key
    with pytest.raises(ApiError, match="invalid_client") as caught:
        await org.client(org.oauth(rsa_key)).get_page(org.first_url())
    assert caught.value.status == "auth_error"
    assert org.emulator.requests == []  # no System Log request without a token


async def test_without_dpop_an_app_that_requires_it_refuses(
    org: Org, rsa_key: rsa.RSAPrivateKey
) -> None:
    org.emulator.public_key = rsa_key.public_key()
    with pytest.raises(ApiError, match="DPoP proof JWT header is missing"):
        await org.client(org.oauth(rsa_key, dpop=False)).get_page(org.first_url())


async def test_an_app_without_dpop_gets_a_bearer_token_and_it_works(
    org: Org, rsa_key: rsa.RSAPrivateKey
) -> None:
    org.emulator.public_key = rsa_key.public_key()
    org.emulator.require_dpop = False
    for dpop in (True, False):
        page = await org.client(org.oauth(rsa_key, dpop=dpop)).get_page(org.first_url())
        assert len(page.items) == 1


async def test_a_revoked_token_is_replaced_once(org: Org, rsa_key: rsa.RSAPrivateKey) -> None:
    org.emulator.public_key = rsa_key.public_key()
    client = org.client(org.oauth(rsa_key))
    await client.get_page(org.first_url())
    org.emulator._tokens.clear()  # an admin revoked it
    await client.get_page(org.first_url())
    assert org.emulator.token_requests == [400, 200, 200]
    assert [r.status for r in org.emulator.requests] == [200, 401, 200]


async def test_a_resource_server_nonce_is_used_when_asked_for(
    org: Org, rsa_key: rsa.RSAPrivateKey
) -> None:
    org.emulator.public_key = rsa_key.public_key()
    org.emulator.resource_nonce = True
    client = org.client(org.oauth(rsa_key))
    await client.get_page(org.first_url())
    await client.get_page(org.first_url())
    assert [r.status for r in org.emulator.requests] == [401, 200, 200]


def test_proofs_carry_htu_without_query_ath_and_only_the_public_key(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    auth = OAuthAuth("https://example.okta.com", CLIENT_ID, rsa_key, clock=lambda: NOW)
    url = "https://example.okta.com/api/v1/logs?filter=x&after=y#frag"
    proof = auth.proof("GET", url, access_token="tok", nonce="n1")
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert "d" not in header["jwk"]  # never the private part
    claims = jwt.decode(proof, jwt.PyJWK(header["jwk"]), algorithms=["ES256"])
    assert claims["htu"] == htu(url) == "https://example.okta.com/api/v1/logs"
    assert claims["ath"] == token_hash("tok") and claims["nonce"] == "n1"
    assert claims["htm"] == "GET" and claims["iat"] == int(NOW)
    other = jwt.decode(auth.proof("GET", url), jwt.PyJWK(header["jwk"]), algorithms=["ES256"])
    assert other["jti"] != claims["jti"] and "ath" not in other


def test_the_client_assertion_names_the_client_and_the_token_endpoint(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    auth = OAuthAuth("https://example.okta.com", CLIENT_ID, rsa_key, key_id="k1", clock=lambda: NOW)
    assertion = auth.client_assertion()
    assert jwt.get_unverified_header(assertion)["kid"] == "k1"
    claims = jwt.decode(
        assertion, rsa_key.public_key(), algorithms=["RS256"],
        audience="https://example.okta.com/oauth2/v1/token",
        options={"verify_exp": False, "verify_iat": False},
    )  # fmt: skip
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["exp"] - claims["iat"] == 300
    assert (
        jwt.decode(auth.client_assertion(), options={"verify_signature": False})["jti"]
        != claims["jti"]
    )


def test_private_keys_okta_cannot_use_are_refused_with_a_reason(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    assert load_private_key(pem(rsa_key)) is not None
    encrypted = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    )
    with pytest.raises(ValueError, match="encrypted"):
        load_private_key(encrypted)
    with pytest.raises(ValueError, match="not a PEM private key"):
        load_private_key(b"-----BEGIN NOTHING-----")
    with pytest.raises(ValueError, match="RSA or EC"):
        load_private_key(pem(ed25519.Ed25519PrivateKey.generate()))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="RSA or EC"):
        load_private_key(pem(ec.generate_private_key(ec.SECP256K1())))
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    with pytest.raises(ValueError, match="at least 2048"):
        load_private_key(pem(small))


# --- errors that say what to do (issue 14) -------------------------------------------------


@pytest.mark.parametrize(("skew", "shown"), [(-400.0, "-400 s"), (3400.0, "+3400 s")])
async def test_a_client_assertion_refused_for_its_times_reports_the_clock_offset(
    org: Org, rsa_key: rsa.RSAPrivateKey, skew: float, shown: str
) -> None:
    """Behind: "token is expired"; ahead: "expiration too far into the future" (Okta's words)."""
    org.emulator.public_key = rsa_key.public_key()
    org.emulator.require_dpop = False  # the assertion's times alone are judged
    auth = OAuthAuth(org.url, CLIENT_ID, rsa_key, dpop=False, clock=lambda: org.time.clock() + skew)
    with pytest.raises(ApiError, match="invalid_client: The client_assertion token") as caught:
        await org.client(auth).get_page(org.first_url())
    assert f"this host's clock is {shown} off Okta's, by its Date header" in str(caught.value)


async def test_a_dpop_proof_refused_for_its_iat_reports_the_clock_offset(
    org: Org, rsa_key: rsa.RSAPrivateKey
) -> None:
    org.emulator.public_key = rsa_key.public_key()
    auth = OAuthAuth(org.url, CLIENT_ID, rsa_key, clock=lambda: org.time.clock() - 120)
    with pytest.raises(ApiError, match="invalid_dpop_proof") as caught:
        await org.client(auth).get_page(org.first_url())
    assert "clock is -120 s off Okta's" in str(caught.value)
    assert "--okta.dpop=false" not in str(caught.value)  # the clock is the cause, not DPoP


async def test_invalid_dpop_proof_suggests_turning_dpop_off_for_an_app_without_it(
    org: Org, rsa_key: rsa.RSAPrivateKey
) -> None:
    org.emulator.public_key = rsa_key.public_key()
    org.emulator.require_dpop = False
    org.emulator.dpop_refusal = "DPoP proof JWT cannot be parsed."
    with pytest.raises(ApiError, match="invalid_dpop_proof: DPoP proof JWT cannot") as caught:
        await org.client(org.oauth(rsa_key)).get_page(org.first_url())
    assert "if the app does not require DPoP" in str(caught.value)
    assert "run with --okta.dpop=false" in str(caught.value)


async def test_dpop_off_for_an_app_that_requires_it_says_to_turn_it_on(
    org: Org, rsa_key: rsa.RSAPrivateKey
) -> None:
    org.emulator.public_key = rsa_key.public_key()
    with pytest.raises(ApiError, match=r"run with --okta\.dpop=true"):
        await org.client(org.oauth(rsa_key, dpop=False)).get_page(org.first_url())


def test_a_token_lifetime_past_floats_range_is_read_as_the_default_hour(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    """msgspec decodes such an integer exactly (orjson refused the whole answer)."""
    auth = OAuthAuth("https://example.okta.com", CLIENT_ID, rsa_key, clock=lambda: 1000.0)
    auth._accept({"access_token": "t", "expires_in": 10**400})
    assert auth._expires == 1000.0 + 3600.0 - 60.0
