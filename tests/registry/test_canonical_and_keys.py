"""Canonical encoding (what the journal hashes and the gateway signs) and Ed25519 keys."""

from __future__ import annotations

import hashlib
import json
import random
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from registry import AccountKind, Ledger, RegistryError, SigningKey, VerifyKey
from registry.canonical import CanonicalEncodingError, decode, encode, encode_text
from registry.errors import CheckCode

# ---------------------------------------------------------------- canonical encoding

plain_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def _reordered(value: Any, rng: random.Random) -> Any:
    """Return an equal value whose dicts were built in a shuffled key order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _reordered(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_reordered(item, rng) for item in value]
    return value


def test_encoding_of_a_known_value_is_exactly_the_expected_bytes() -> None:
    value = {
        "to": "KR-120-1000006-0-96",
        "blocks": [{"start": 1, "end": 500}],
        "ok": True,
        "period": None,
        "name": "Émission",
    }

    assert encode(value) == (
        b'{"blocks":[{"end":500,"start":1}],"name":"\xc3\x89mission","ok":true,'
        b'"period":null,"to":"KR-120-1000006-0-96"}'
    )


def test_encode_sorts_keys_at_every_depth_whatever_the_insertion_order() -> None:
    text = encode_text({"b": {"z": 1, "a": [{"y": 2, "x": 3}]}, "a": 0})

    assert text == '{"a":0,"b":{"a":[{"x":3,"y":2}],"z":1}}'


def test_tuple_encodes_as_the_list_with_the_same_items() -> None:
    assert encode({"serials": (1, 2, 3)}) == encode({"serials": [1, 2, 3]})


@given(plain_data, st.randoms(use_true_random=False))
def test_equal_values_encode_to_the_same_bytes_and_decode_back(
    value: Any, rng: random.Random
) -> None:
    data = encode(value)

    assert encode(_reordered(value, rng)) == data
    assert decode(data) == value
    assert encode(decode(data)) == data
    # The bytes are UTF-8 JSON with sorted keys and no insignificant white space.
    assert (
        json.dumps(
            json.loads(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")
        == data
    )


@pytest.mark.parametrize(
    "value",
    [1.5, 0.0, float("nan"), float("inf"), {"price": 12.5}, [1, [2, 3.0]], {"a": {"b": [-0.0]}}],
    ids=["float", "zero-float", "nan", "inf", "dict-value", "nested-list", "deep"],
)
def test_encode_refuses_a_float_anywhere(value: Any) -> None:
    with pytest.raises(CanonicalEncodingError, match="float"):
        encode(value)


@pytest.mark.parametrize(
    "value",
    [{1: "a"}, {(1, 2): "a"}, {1, 2}, b"bytes", object(), AccountKind.TRADING, CheckCode(3005)],
    ids=["int-key", "tuple-key", "set", "bytes", "object", "str-enum", "int-enum"],
)
def test_encode_refuses_values_without_a_canonical_form(value: Any) -> None:
    with pytest.raises(CanonicalEncodingError):
        encode(value)


def test_refusal_names_the_path_of_the_offending_value() -> None:
    with pytest.raises(CanonicalEncodingError, match=r"\$\.blocks\[1\]\.end"):
        encode({"blocks": [{"end": 5}, {"end": 5.0}]})


def test_encode_refuses_a_string_with_no_utf8_form() -> None:
    # A lone surrogate has no UTF-8 bytes, so it has no canonical bytes either.
    with pytest.raises((CanonicalEncodingError, UnicodeEncodeError)):
        encode({"holder": "\ud800"})


@pytest.mark.parametrize(
    "text",
    ['{"price":12.5}', "[1e3]", "[1E-2]", "[-0.0]", "[NaN]", "[Infinity]", "[-Infinity]"],
)
@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_decode_refuses_floats_exponents_and_non_numbers(text: str, as_bytes: bool) -> None:
    with pytest.raises(CanonicalEncodingError, match="no floats"):
        decode(text.encode() if as_bytes else text)


def test_decode_accepts_text_and_bytes_alike() -> None:
    assert decode('{"a":[1,true,null]}') == decode(b'{"a":[1,true,null]}') == {"a": [1, True, None]}


def test_big_integers_encode_exactly() -> None:
    serial = 2**62

    assert decode(encode({"end": serial})) == {"end": serial}
    assert encode({"end": serial}) == b'{"end":4611686018427387904}'


def test_text_without_utf8_form_is_refused_by_the_ledger_and_changes_nothing(
    korean_ledger: Ledger,
) -> None:
    # Such text cannot be journaled; accepting it would leave the ledger ahead of
    # the journal and make the stored chain unreplayable.
    before = korean_ledger.state_digest()

    with pytest.raises(RegistryError) as refused:
        korean_ledger.open_account(AccountKind.TRADING, "Trader \ud800", "surrogate")

    assert refused.value.code is CheckCode.INVALID_ARGUMENT
    assert korean_ledger.state_digest() == before


# ---------------------------------------------------------------- Ed25519 keys


def test_saved_key_loads_back_and_signs_what_the_original_verifies(tmp_path: Path) -> None:
    key = SigningKey.generate()
    path = tmp_path / "kr.key.pem"

    key.save(path)
    loaded = SigningKey.load(path)

    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert loaded.to_pem() == key.to_pem()
    assert loaded.fingerprint == key.fingerprint
    message = b"TransferProposal KR->CN 1-500"
    assert key.verify_key.verify(loaded.sign(message), message)


def test_saved_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "kr.key.pem"

    SigningKey.generate().save(path)

    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_saving_a_key_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "kr.key.pem"
    first = SigningKey.generate()
    first.save(path)

    with pytest.raises(FileExistsError):
        SigningKey.generate().save(path)

    assert SigningKey.load(path).fingerprint == first.fingerprint


def test_fingerprint_is_the_first_16_hex_digits_of_sha256_over_the_raw_public_key() -> None:
    key = SigningKey.generate()
    raw = key.key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )

    assert key.fingerprint == hashlib.sha256(raw).hexdigest()[:16]
    assert key.verify_key.fingerprint == key.fingerprint
    assert SigningKey.generate().fingerprint != key.fingerprint


def test_verify_key_survives_pem_and_raw_round_trips() -> None:
    key = SigningKey.generate()
    message = b"head KR 42"
    signature = key.sign(message)

    from_pem = VerifyKey.from_pem(key.verify_key.to_pem())
    from_raw = VerifyKey.from_raw(key.verify_key.raw)

    assert from_pem.fingerprint == from_raw.fingerprint == key.fingerprint
    assert from_pem.verify(signature, message)
    assert from_raw.verify(signature, message)


@pytest.mark.parametrize("index", [0, 31, 63])
def test_verify_fails_when_one_byte_of_the_signature_is_flipped(index: int) -> None:
    key = SigningKey.generate()
    message = b"head KR 42"
    signature = bytearray(key.sign(message))

    assert key.verify_key.verify(bytes(signature), message)
    signature[index] ^= 0x01
    assert not key.verify_key.verify(bytes(signature), message)


def test_verify_fails_when_one_byte_of_the_message_is_flipped() -> None:
    key = SigningKey.generate()
    message = bytearray(b'{"hash":"ab","seq":42,"stream":"KR"}')
    signature = key.sign(bytes(message))

    message[20] ^= 0x01

    assert not key.verify_key.verify(signature, bytes(message))


def test_verify_fails_with_another_registrys_key() -> None:
    message = b"head KR 42"
    signature = SigningKey.generate().sign(message)

    assert not SigningKey.generate().verify_key.verify(signature, message)


def test_loading_a_key_that_is_not_ed25519_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    private_pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    with pytest.raises(ValueError, match="Ed25519"):
        SigningKey.from_pem(private_pem)
    with pytest.raises(ValueError, match="Ed25519"):
        VerifyKey.from_pem(public_pem)
