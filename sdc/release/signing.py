"""Ed25519 signatures over a request's manifest (which holds the digest of every file).

The trusted runner that executes researchers' code holds the private key;
``finalise(signing_key=...)`` (or ``SDC_SIGNING_KEY``) signs the exact bytes of
``manifest.json`` and writes ``manifest.sig``. The gate verifies it with the
public keys the operator trusts (``sdc check --trust-key``). Since the manifest
names every file with its SHA-256 digest and size, a valid signature
authenticates every byte of the request.

Keys are PEM files (PKCS #8 private key, SubjectPublicKeyInfo public key), as
``sdc keygen`` writes them and OpenSSL reads them. A key is named by its *key
id*: the SHA-256 of its 32 raw public bytes, in hex.

``manifest.sig`` is one line of JSON, in exactly this form::

    {"algorithm":"ed25519","key_id":"<64 hex>","signature":"<base64 of 64 bytes>"}

What is signed is a fixed context line followed by the manifest's bytes, so a
signature made for anything else never verifies as a request signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdc.exceptions import SdcInputError

SIGNATURE = "manifest.sig"
#: Prepended to the manifest's bytes before signing (domain separation).
CONTEXT = b"sdc-engine request manifest signature v1\n"
_SIGNATURE_KEYS = ("algorithm", "key_id", "signature")


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - a dependency of the package
        raise SdcInputError("signing needs the 'cryptography' package.") from None
    return serialization, ed25519


def key_id(public_key: Any) -> str:
    """The id of a public key: SHA-256 of its raw bytes, hex."""
    serialization, _ = _crypto()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_keys(private_path: str | Path, public_path: str | Path) -> str:
    """Write a new Ed25519 key pair (private key readable by its owner only); its key id.

    Existing files are never overwritten.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> kid = generate_keys(d / "runner.key", d / "runner.pub")
    >>> len(kid), oct((d / "runner.key").stat().st_mode & 0o777)
    (64, '0o600')
    """
    serialization, ed25519 = _crypto()
    private_path, public_path = Path(private_path), Path(public_path)
    if private_path.resolve() == public_path.resolve():
        raise SdcInputError("the private and the public key need two different files.")
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    written: list[Path] = []
    try:
        for path, data, mode in ((private_path, private_pem, 0o600), (public_path, public_pem,
                                                                       0o644)):  # fmt: skip
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            written.append(path)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except FileExistsError as exc:
        for path in written:
            path.unlink()
        raise SdcInputError(
            f"{exc.filename!r} exists already; keys are never overwritten."
        ) from None
    except OSError as exc:
        for path in written:
            path.unlink()
        raise SdcInputError(f"cannot write {exc.filename!r} ({exc.strerror}).") from None
    return key_id(key.public_key())


def _read_key_file(path: str | Path, what: str) -> bytes:
    if not Path(path).is_file():  # never open a FIFO or a device: it could block
        raise SdcInputError(f"the {what} {str(path)!r} cannot be read (not a regular file).")
    try:
        with open(path, "rb") as fh:
            data = fh.read(65537)
    except OSError as exc:
        raise SdcInputError(f"the {what} {str(path)!r} cannot be read ({exc.strerror}).") from None
    if len(data) > 65536:
        raise SdcInputError(f"the {what} {str(path)!r} is too large to be a key.")
    return data


def _load_key(path: str | Path, private: bool) -> Any:
    serialization, ed25519 = _crypto()
    what, kind = ("signing key", "an unencrypted PEM private key") if private else (
        "trusted key", "a PEM public key")  # fmt: skip
    data = _read_key_file(path, what)
    try:
        if private:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SdcInputError(f"the {what} {str(path)!r} is not {kind} ({exc}).") from None
    wanted = ed25519.Ed25519PrivateKey if private else ed25519.Ed25519PublicKey
    if not isinstance(key, wanted):
        name = "Ed25519 key" if private else "Ed25519 public key"
        raise SdcInputError(f"the {what} {str(path)!r} is not an {name}.")
    return key


def load_private_key(path: str | Path) -> Any:
    """The Ed25519 private key in a PEM file (``SdcInputError`` if it is not one)."""
    return _load_key(path, private=True)


def load_public_key(path: str | Path) -> Any:
    """The Ed25519 public key in a PEM file (``SdcInputError`` if it is not one)."""
    return _load_key(path, private=False)


def signature_file(manifest: bytes, private_key: Any) -> bytes:
    """The bytes of ``manifest.sig`` for these manifest bytes."""
    signature = private_key.sign(CONTEXT + manifest)
    body = {
        "algorithm": "ed25519",
        "key_id": key_id(private_key.public_key()),
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    return (json.dumps(body, separators=(",", ":")) + "\n").encode("ascii")


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a request's signature.

    ``state``: ``valid`` (a trusted key signed these manifest bytes), ``missing``
    (no ``manifest.sig``), ``not checked`` (no trusted key given), ``untrusted key``
    (signed by a key the operator did not name), ``invalid`` (the signature does not
    verify: the manifest changed after signing) or ``malformed``.
    """

    state: str
    key_id: str | None
    reason: str

    @property
    def valid(self) -> bool:
        return self.state == "valid"


def verify(manifest: bytes, signature: bytes | None, trusted: list[Any]) -> Verification:
    """Check ``manifest.sig`` (its bytes, None if absent) against the trusted public keys."""
    if signature is None:
        return Verification("missing", None, f"the request has no {SIGNATURE}: it is unsigned")
    try:
        body = json.loads(signature.decode("ascii"))
        ok = isinstance(body, dict) and tuple(body) == _SIGNATURE_KEYS
        ok = ok and body["algorithm"] == "ed25519" and isinstance(body["key_id"], str)
        ok = ok and len(body["key_id"]) == 64 and set(body["key_id"]) <= set("0123456789abcdef")
        raw = base64.b64decode(body["signature"], validate=True) if ok else b""
        # One spelling only: the same JSON, and the base64 of the bytes it decodes to (base64
        # has spare bits that decode alike).
        canonical = ok and base64.b64encode(raw).decode("ascii") == body["signature"]
        canonical = (
            canonical and (json.dumps(body, separators=(",", ":")) + "\n").encode() == signature
        )
    except (UnicodeDecodeError, ValueError, TypeError, binascii.Error):
        ok = canonical = False
    if not ok or not canonical or len(raw) != 64:
        return Verification(
            "malformed", None, f"{SIGNATURE} is not a signature file written by finalise"
        )
    claimed = body["key_id"]
    if not trusted:
        return Verification(
            "not checked", claimed,
            f"the request is signed (key {claimed[:16]}...), but no trusted key was given "
            "to verify it (--trust-key)",
        )  # fmt: skip
    for key in trusted:
        if key_id(key) != claimed:
            continue
        try:
            key.verify(raw, CONTEXT + manifest)
        except Exception:  # cryptography raises InvalidSignature
            return Verification(
                "invalid", claimed,
                f"the signature by trusted key {claimed[:16]}... does not verify: the manifest "
                "was changed after it was signed",
            )  # fmt: skip
        return Verification("valid", claimed, f"signed by trusted key {claimed[:16]}...")
    return Verification(
        "untrusted key", claimed,
        f"the request is signed by key {claimed[:16]}..., which is not among the trusted keys",
    )  # fmt: skip
