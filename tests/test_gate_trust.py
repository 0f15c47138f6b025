"""Signed requests: keys, signatures, what the gate trusts, and the byte-editing property.

A request signed by a key the operator trusts is authenticated file by file (the
manifest holds every file's digest); anything else is at best ``review`` unless the
operator says ``--trust-unsigned``, which the report states at its top. Editing any
byte of a signed request, in any file, never yields ``pass``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from pathlib import Path

import gate_corpus as corpus
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sdc
from sdc import SdcInputError
from sdc.cli import main
from sdc.release.gate import check_folder
from sdc.release.report import text_report
from sdc.release.signing import CONTEXT, load_private_key, verify


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("keys")
    runner, runner_pub = corpus.keypair(root, "runner")
    other, other_pub = corpus.keypair(root, "other")
    return {"runner": runner, "runner.pub": runner_pub, "other": other, "other.pub": other_pub}


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Path]) -> Path:
    """A small signed request: counts (one cell suppressed), means, a histogram with its plot."""
    s = corpus.base_session()
    s.hist(corpus.visits(), "cost", bins=[0, 200, 400], plot=True, name="h")
    folder = s.finalise(tmp_path_factory.mktemp("signed") / "req", signing_key=keys["runner"])
    assert check_folder(folder, trust_keys=keys["runner.pub"])["status"] == "pass"
    return folder


def copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return target


# ------------------------------------------------------------------ keys and signing


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path, capsys) -> None:
    assert main(["keygen", str(tmp_path / "k.key"), str(tmp_path / "k.pub")]) == 0
    out = capsys.readouterr().out
    assert "key id" in out
    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "k.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    # Never overwritten.
    assert main(["keygen", str(tmp_path / "k.key"), str(tmp_path / "other.pub")]) == 2
    assert not (tmp_path / "other.pub").exists()


def test_a_signed_request_passes_with_the_trusted_key_only(
    signed: Path, keys: dict[str, Path]
) -> None:
    report = check_folder(signed, trust_keys=keys["runner.pub"])
    assert report["trust"]["signature"] == "valid"
    assert {o["authenticated"] for o in report["outputs"]} == {"signature"}
    assert text_report(report).splitlines()[2].startswith("  ! Authenticated: signed by")
    for trust, state in (({"trust_keys": keys["other.pub"]}, "untrusted key"), ({}, "not checked")):
        report = check_folder(signed, **trust)
        assert report["trust"]["signature"] == state and report["status"] == "review"
        assert all(o["status"] == "review" for o in report["outputs"])
    # Several trusted keys (a key being rotated): any of them.
    both = [keys["other.pub"], keys["runner.pub"]]
    assert check_folder(signed, trust_keys=both)["status"] == "pass"


def test_the_cli_verifies_and_says_what_it_trusted(
    signed: Path, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(signed), "--trust-key", str(keys["runner.pub"])]) == 0
    assert main(["check", str(signed)]) == 3
    assert main(["check", str(signed), "--trust-key", str(keys["runner"])]) == 2  # private
    capsys.readouterr()
    assert main(["check", str(signed), "--trust-unsigned"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[2].startswith("  ! NOT AUTHENTICATED, TRUSTED BY THE OPERATOR (--trust-unsigned)")


def test_finalise_signs_with_the_key_in_the_environment(
    tmp_path: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_SIGNING_KEY", str(keys["runner"]))
    folder = corpus.finalise(tmp_path / "req")
    assert (folder / "manifest.sig").is_file()
    assert check_folder(folder, trust_keys=keys["runner.pub"])["trust"]["signature"] == "valid"
    monkeypatch.setenv("SDC_SIGNING_KEY", str(tmp_path / "missing.key"))
    with pytest.raises(SdcInputError, match="cannot be read"):
        corpus.finalise(tmp_path / "req2")
    assert not (tmp_path / "req2").exists()


def test_only_an_ed25519_private_key_signs(tmp_path: Path, keys: dict[str, Path]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa.key"
    path.write_bytes(rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))  # fmt: skip
    with pytest.raises(SdcInputError, match="not an Ed25519 key"):
        corpus.finalise(tmp_path / "a", key=path)
    with pytest.raises(SdcInputError, match="not an unencrypted PEM private key"):
        corpus.finalise(tmp_path / "b", key=keys["runner.pub"])
    with pytest.raises(SdcInputError, match=r"not an Ed25519 public key|not a PEM public key"):
        check_folder(tmp_path, trust_keys=path)


def _other_key_id(sig: bytes) -> bytes:
    body = json.loads(sig)
    first = body["key_id"][0]
    body["key_id"] = ("1" if first == "0" else "0") + body["key_id"][1:]
    return (json.dumps(body, separators=(",", ":")) + "\n").encode()


@pytest.mark.parametrize(
    ("edit", "state"),
    [
        (lambda sig: sig.replace(b'"ed25519"', b'"ed448"'), "malformed"),
        (lambda sig: sig.replace(b'":"', b'": "', 1), "malformed"),  # not its one spelling
        (lambda sig: sig[:-1], "malformed"),
        (lambda sig: b"", "malformed"),
        (lambda sig: sig.replace(b'"key_id":"', b'"key_id":"0'), "malformed"),
        (lambda sig: _other_key_id(sig), "untrusted key"),
    ],
    ids=["algorithm", "spacing", "no line end", "empty", "long key id", "other key id"],
)
def test_a_broken_signature_file_is_at_best_review(
    signed: Path, keys: dict[str, Path], tmp_path: Path, edit, state: str
) -> None:
    folder = copy(signed, tmp_path)
    path = folder / "manifest.sig"
    path.write_bytes(edit(path.read_bytes()))
    report = check_folder(folder, trust_keys=keys["runner.pub"])
    assert report["trust"]["signature"] == state and report["status"] == "review"


def test_spare_base64_bits_are_not_another_valid_signature(
    signed: Path, keys: dict[str, Path]
) -> None:
    """A 64-byte signature in base64 ends in a character whose low bits are spare: changing
    them decodes to the same bytes, so the file must also be the signature's one spelling."""
    body = json.loads((signed / "manifest.sig").read_text())
    text = body["signature"]
    raw = base64.b64decode(text)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(text[-3])
    twin = text[:-3] + alphabet[last ^ 1] + text[-2:]
    assert twin != text and base64.b64decode(twin) == raw
    forged = json.dumps({**body, "signature": twin}, separators=(",", ":")) + "\n"
    public = sdc.release.signing.load_public_key(keys["runner.pub"])
    manifest = (signed / "manifest.json").read_bytes()
    assert verify(manifest, (signed / "manifest.sig").read_bytes(), [public]).valid
    assert verify(manifest, forged.encode(), [public]).state == "malformed"


def test_a_signature_made_for_something_else_does_not_verify(
    signed: Path, keys: dict[str, Path]
) -> None:
    """What is signed starts with a fixed context line: the bare manifest's signature fails."""
    key = load_private_key(keys["runner"])
    manifest = (signed / "manifest.json").read_bytes()
    body = json.loads((signed / "manifest.sig").read_text())
    bare = base64.b64encode(key.sign(manifest)).decode()
    forged = json.dumps({**body, "signature": bare}, separators=(",", ":")) + "\n"
    public = sdc.release.signing.load_public_key(keys["runner.pub"])
    assert verify(manifest, forged.encode(), [public]).state == "invalid"
    assert key.public_key().verify(base64.b64decode(body["signature"]), CONTEXT + manifest) is None


def test_a_signature_that_is_a_link_is_not_followed(
    signed: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    folder = copy(signed, tmp_path)
    outside = tmp_path / "sig"
    shutil.move(folder / "manifest.sig", outside)
    (folder / "manifest.sig").symlink_to(outside)
    report = check_folder(folder, trust_keys=keys["runner.pub"])
    assert report["trust"]["signature"] == "malformed" and report["status"] == "review"


def test_a_request_resigned_with_the_researchers_own_key(
    signed: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    folder = copy(signed, tmp_path)
    corpus.forge_isles(folder)
    key = load_private_key(keys["other"])
    (folder / "manifest.sig").write_bytes(
        sdc.release.signing.signature_file((folder / "manifest.json").read_bytes(), key)
    )
    report = check_folder(folder, trust_keys=keys["runner.pub"])
    assert report["trust"]["signature"] == "untrusted key" and report["status"] == "review"


# ------------------------------------------------------------------ the property


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
@example(data=None)
def test_editing_any_byte_of_a_signed_request_never_passes(
    signed: Path, keys: dict[str, Path], data: st.DataObject | None
) -> None:
    files = _files(signed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = copy(signed, Path(tmp))
        if data is None:  # the signature's spare base64 bits (see the test above)
            rel, position, change = "manifest.sig", -6, "flip"
            byte = 1
        else:
            rel = data.draw(st.sampled_from(files), label="file")
            size = (folder / rel).stat().st_size
            change = data.draw(st.sampled_from(["flip", "delete", "insert"]), label="change")
            position = data.draw(st.integers(0, size - 1), label="position")
            byte = data.draw(st.integers(1, 255), label="xor or byte")
        content = bytearray((folder / rel).read_bytes())
        if change == "flip":
            content[position] ^= byte
        elif change == "delete":
            del content[position]
        else:
            content.insert(position, byte)
        (folder / rel).write_bytes(bytes(content))
        try:
            report = check_folder(folder, trust_keys=keys["runner.pub"])
        except SdcInputError:  # an unreadable manifest: refused, never a pass
            return
        assert report["status"] != "pass", (rel, change, position)
        assert os.path.exists(folder / rel)
