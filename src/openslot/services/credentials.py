"""Secrets at rest: token hashes, the keyed look-up hash and encryption of client secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken

TOKEN_BYTES = 32  # 256 random bits in every token and client secret


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class SecretBox:
    """Keyed operations derived from the server's secret key."""

    def __init__(self, server_key: str) -> None:
        if not server_key:
            raise ValueError("a server secret key is required")
        root = server_key.encode()
        self._lookup_key = hmac.new(root, b"openslot/client-secret-lookup", hashlib.sha256).digest()
        fernet_key = hmac.new(root, b"openslot/client-secret-encryption", hashlib.sha256).digest()
        self._signing_key = hmac.new(root, b"openslot/signed-tokens", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(fernet_key))

    def lookup_hash(self, secret: str) -> str:
        return hmac.new(self._lookup_key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("the secret was encrypted with another server key") from exc

    def sign(self, data: bytes) -> str:
        digest = hmac.new(self._signing_key, data, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")

    def verify(self, data: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(data), signature)
