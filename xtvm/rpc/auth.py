"""Challenge-response authentication with the shared key; the key never crosses the wire.

The server's hello carries a random nonce; the client answers HMAC-SHA256(key, "client" +
nonce) and its own nonce; the server checks in constant time (``hmac.compare_digest``)
and answers HMAC-SHA256(key, "server" + client nonce + server nonce), so the client knows
it reached a server holding the key (whose timings and outputs it may then trust).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

KEY_ENV = "XTVM_RPC_KEY"
NONCE_BYTES = 32


def key_from_env() -> bytes | None:
    """The key in ``$XTVM_RPC_KEY`` (not on the command line, where ``ps`` shows it)."""
    text = os.environ.get(KEY_ENV, "")
    return text.encode("utf-8") if text else None


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\n".join(parts).encode("ascii"), hashlib.sha256).hexdigest()


def client_proof(key: bytes, server_nonce: str) -> str:
    return _mac(key, "client", server_nonce)


def server_proof(key: bytes, client_nonce: str, server_nonce: str) -> str:
    return _mac(key, "server", client_nonce, server_nonce)


def is_nonce(value: object) -> bool:
    """A hex string of NONCE_BYTES bytes (what both sides must send)."""
    if not isinstance(value, str) or len(value) != 2 * NONCE_BYTES:
        return False
    return all(c in "0123456789abcdef" for c in value)


def same(expected: str, got: object) -> bool:
    """Constant-time comparison of a MAC with what the peer sent (any JSON value)."""
    if not isinstance(got, str):
        return False
    return hmac.compare_digest(expected.encode("ascii"), got.encode("utf-8", "replace"))
