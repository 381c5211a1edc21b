"""The pure check of an Okta OAuth private key, shared by config validation and the auth
adapter (moved from okta/auth.py so config imports nothing of okta/, issue 16 item 3)."""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
CURVES: Final = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def load_private_key(pem: bytes) -> PrivateKey:
    """An unencrypted PEM private key, RSA or EC (P-256/384/521); ValueError says why not."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ValueError("the key is encrypted; give an unencrypted PEM key") from None
    except ValueError:
        raise ValueError("not a PEM private key") from None
    except Exception as exc:  # cryptography's unsupported-algorithm error and kin
        raise ValueError(f"cannot read the key: {exc}") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ValueError(f"RSA keys must have at least 2048 bits, this one has {key.key_size}")
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in CURVES:
        return key
    raise ValueError("Okta accepts RSA or EC (P-256, P-384, P-521) keys only")
