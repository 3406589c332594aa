"""Writes files in the first format (b"EPF1": sealed directly under the master key, no salt), as the portal did
before per-file keys, so tests can check that such files stay readable and are rotated."""

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core import crypto


def epf1_bytes(plaintext: bytes, *, key_entry: str, aad: bytes = b"") -> bytes:
    key_id, _, encoded = key_entry.partition(":")
    aead = AESGCM(base64.urlsafe_b64decode(encoded))
    prefix = os.urandom(crypto.NONCE_PREFIX_SIZE)
    header = b"EPF1" + bytes([len(key_id.encode())]) + key_id.encode() + prefix
    pieces = [plaintext[i : i + crypto.SEGMENT_SIZE] for i in range(0, len(plaintext), crypto.SEGMENT_SIZE)] or [b""]
    out = [header]
    for counter, piece in enumerate(pieces):
        last = counter == len(pieces) - 1
        out.append(aead.encrypt(crypto._nonce(prefix, counter, last), piece, header + aad))
    return b"".join(out)
