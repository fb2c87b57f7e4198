"""Secrets at rest: token hashes, the keyed look-up hash and encryption of client secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict

from cryptography.fernet import Fernet, InvalidToken

TOKEN_BYTES = 32  # 256 random bits in every token and client secret
# Decrypted secrets the delivery worker keeps at hand; a Fernet decryption per notification costs
# more than signing and sending it.
DECRYPTED_CACHE_SIZE = 1024


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
        self._decrypted: OrderedDict[str, str] = OrderedDict()
        self._decrypted_lock = threading.Lock()

    def lookup_hash(self, secret: str) -> str:
        return hmac.new(self._lookup_key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("the secret was encrypted with another server key") from exc

    def decrypt_cached(self, ciphertext: str) -> str:
        """``decrypt``, remembering the most recently used results.

        Keyed by the ciphertext itself: a changed secret is stored as a new ciphertext (Fernet
        encrypts with a fresh IV every time), so it can never be answered with the old plaintext.
        """
        with self._decrypted_lock:
            plain = self._decrypted.get(ciphertext)
            if plain is not None:
                self._decrypted.move_to_end(ciphertext)
                return plain
        plain = self.decrypt(ciphertext)
        with self._decrypted_lock:
            self._decrypted[ciphertext] = plain
            if len(self._decrypted) > DECRYPTED_CACHE_SIZE:
                self._decrypted.popitem(last=False)
        return plain

    def sign(self, data: bytes) -> str:
        digest = hmac.new(self._signing_key, data, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")

    def verify(self, data: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(data), signature)
