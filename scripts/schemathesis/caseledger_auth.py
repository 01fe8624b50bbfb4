"""Schemathesis hook: signs every request to a caseledger node as docs/FORMAT.md §API request
specifies, with the pilot PLC's key, which may
read everything.

Signing happens on the prepared request, just before it is sent, so the signature covers the
exact method, path-and-query and body bytes that go on the wire.

Environment:
  CASELEDGER_ORG       the organisation id (default GS-PLC)
  CASELEDGER_KEY_ID    its key id (default k1)
  CASELEDGER_KEY_PEM   a PKCS#8 PEM private key file; if absent the pilot key is derived
  CASELEDGER_SEED      the pilot seed the demo used (default 1): the key is
                       Ed25519(seed = SHA-256("caseledger/v1/derived-key\\0" || u64be(seed) || org)),
                       as client/src/keys.rs derives it
"""

import base64
import hashlib
import os
import secrets
import struct
import time
import urllib.parse

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

CONTEXT = b"caseledger/v1/api-request\0"
UNSIGNED = ("/v1/openapi.json", "/healthz", "/readyz", "/metrics")

ORG = os.environ.get("CASELEDGER_ORG", "GS-PLC")
KEY_ID = os.environ.get("CASELEDGER_KEY_ID", "k1")


def _load_key():
    pem = os.environ.get("CASELEDGER_KEY_PEM")
    if pem:
        with open(pem, "rb") as f:
            return load_pem_private_key(f.read(), password=None)
    seed = int(os.environ.get("CASELEDGER_SEED", "1"))
    digest = hashlib.sha256(
        b"caseledger/v1/derived-key\0" + struct.pack(">Q", seed) + ORG.encode()
    ).digest()
    return Ed25519PrivateKey.from_private_bytes(digest)


KEY = _load_key()


_NODE_IDS = {}


def node_id(base):
    """The id of the node at `base` (scheme://host:port), as it names itself in every answer."""
    if base not in _NODE_IDS:
        answer = _send(requests.Session(), requests.Request("GET", base + "/healthz").prepare())
        _NODE_IDS[base] = answer.headers["x-caseledger-node"]
    return _NODE_IDS[base]


def signature_headers(method, path_and_query, body, node):
    """The six x-caseledger-* headers for one request to node `node`."""
    if body is None:
        body = b""
    elif isinstance(body, str):
        body = body.encode()
    now = str(int(time.time() * 1000))
    nonce = secrets.token_hex(16)
    text = "\n".join(
        [
            method.upper(),
            path_and_query,
            ORG,
            KEY_ID,
            str(node),
            now,
            nonce,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    signature = KEY.sign(CONTEXT + text.encode())
    return {
        "x-caseledger-org": ORG,
        "x-caseledger-key": KEY_ID,
        "x-caseledger-node": str(node),
        "x-caseledger-time": now,
        "x-caseledger-nonce": nonce,
        "x-caseledger-signature": base64.b64encode(signature).decode(),
    }


_send = requests.Session.send


def _signed_send(self, request, **kwargs):
    path = request.path_url
    if not path.split("?", 1)[0] in UNSIGNED:
        body = request.body
        if hasattr(body, "read"):  # a stream: read it so that it can be hashed and sent
            body = body.read()
            request.body = body
        parts = urllib.parse.urlsplit(request.url)
        node = node_id(f"{parts.scheme}://{parts.netloc}")
        request.headers.update(signature_headers(request.method, path, body, node))
    return _send(self, request, **kwargs)


requests.Session.send = _signed_send
