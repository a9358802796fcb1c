"""KMS cryptography over a real store: the blob format, encryption context binding, tamper
detection, and key material that is never at rest in plaintext."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from kms_support import ACCOUNT, REGION, Env, make_env

from warden.services.kms import blob
from warden.services.kms.errors import (
    AccessDeniedException,
    IncorrectKeyException,
    InvalidCiphertextException,
    KMSInternalException,
    NotFoundException,
    ValidationException,
)
from warden.services.kms.handlers import Kms
from warden.store.schema import KmsRotationType, kms_key_material


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    made = make_env(tmp_path)
    yield made
    made.store.close()


def _key(env: Env) -> str:
    return str(env.call("CreateKey", Description="t")["KeyMetadata"]["KeyId"])


def test_blob_format_round_trips_and_rejects_other_bytes() -> None:
    key_id = "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
    made = blob.Blob(key_id, 7, b"n" * 12, b"c" * 20)
    data = made.encode()
    assert data[:4] == b"WKMS" and len(data) == blob.HEADER_BYTES + 12 + 20
    assert blob.parse(data) == made
    assert blob.parse(data[: blob.MIN_BLOB - 1]) is None
    assert blob.parse(b"XKMS" + data[4:]) is None  # wrong magic
    assert blob.parse(data[:4] + b"\x02" + data[5:]) is None  # unknown format version


def test_encryption_context_is_canonical() -> None:
    key_id = "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
    a = blob.aad(key_id, 1, {"b": "2", "a": "1", "é": "ü"})
    b = blob.aad(key_id, 1, {"é": "ü", "a": "1", "b": "2"})
    assert a == b
    assert blob.aad(key_id, 1, {}) != blob.aad(key_id, 1, {"a": ""})
    assert blob.aad(key_id, 1, {}) != blob.aad(key_id, 2, {})


def test_round_trip_by_id_arn_and_alias(env: Env) -> None:
    key_id = _key(env)
    env.call("CreateAlias", AliasName="alias/app", TargetKeyId=key_id)
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
    for ref in (key_id, arn, "alias/app", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app"):
        out = env.call("Encrypt", KeyId=ref, Plaintext=b"secret", EncryptionContext={"a": "1"})
        assert out["KeyId"] == arn
        back = env.call(
            "Decrypt", CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"a": "1"}
        )
        assert back["Plaintext"] == b"secret" and back["KeyId"] == arn


def test_wrong_or_missing_context_fails(env: Env) -> None:
    key_id = _key(env)
    data = env.call("Encrypt", KeyId=key_id, Plaintext=b"x", EncryptionContext={"a": "1"})[
        "CiphertextBlob"
    ]
    for context in ({}, {"a": "2"}, {"a": "1", "b": "1"}, {"A": "1"}):
        with pytest.raises(InvalidCiphertextException):
            env.call("Decrypt", CiphertextBlob=data, EncryptionContext=context)


def test_every_tampered_byte_is_refused(env: Env) -> None:
    key_id = _key(env)
    data = env.call("Encrypt", KeyId=key_id, Plaintext=b"attack at dawn")["CiphertextBlob"]
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(InvalidCiphertextException):
            env.call("Decrypt", CiphertextBlob=bytes(bad))
    with pytest.raises(InvalidCiphertextException):
        env.call("Decrypt", CiphertextBlob=data[:-1])
    with pytest.raises(InvalidCiphertextException):
        env.call("Decrypt", CiphertextBlob=b"not a kms blob at all, not at all")


def test_decrypt_with_another_key_id_is_incorrect_key(env: Env) -> None:
    one, two = _key(env), _key(env)
    data = env.call("Encrypt", KeyId=one, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(IncorrectKeyException):
        env.call("Decrypt", CiphertextBlob=data, KeyId=two)
    assert env.call("Decrypt", CiphertextBlob=data, KeyId=one)["Plaintext"] == b"x"


def test_data_keys_have_the_asked_size_and_open(env: Env) -> None:
    key_id = _key(env)
    for params, size in (
        ({"KeySpec": "AES_256"}, 32),
        ({"KeySpec": "AES_128"}, 16),
        ({"NumberOfBytes": 1}, 1),
        ({"NumberOfBytes": 1024}, 1024),
    ):
        out = env.call("GenerateDataKey", KeyId=key_id, **params)
        assert len(out["Plaintext"]) == size
        assert (
            env.call("Decrypt", CiphertextBlob=out["CiphertextBlob"])["Plaintext"]
            == (out["Plaintext"])
        )
    bare = env.call("GenerateDataKeyWithoutPlaintext", KeyId=key_id, KeySpec="AES_256")
    assert "Plaintext" not in bare
    assert len(env.call("Decrypt", CiphertextBlob=bare["CiphertextBlob"])["Plaintext"]) == 32


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"KeySpec": "AES_256", "NumberOfBytes": 32},
        {"KeySpec": "AES_512"},
        {"NumberOfBytes": 1025},
    ],
)
def test_data_key_sizes_are_validated(env: Env, params: dict[str, object]) -> None:
    key_id = _key(env)
    with pytest.raises(ValidationException):
        env.call("GenerateDataKey", KeyId=key_id, **params)


def test_plaintext_limit_is_4096_bytes(env: Env) -> None:
    key_id = _key(env)
    env.call("Encrypt", KeyId=key_id, Plaintext=b"x" * 4096)
    with pytest.raises(ValidationException):
        env.call("Encrypt", KeyId=key_id, Plaintext=b"x" * 4097)


def test_reencrypt_without_key_access_fails_closed(env: Env) -> None:
    one, two = _key(env), _key(env)
    data = env.call("Encrypt", KeyId=one, Plaintext=b"move me", EncryptionContext={"a": "1"})[
        "CiphertextBlob"
    ]
    # The ReEncryptTo check on the destination needs the server's KeyAccess; none: denied.
    with pytest.raises(AccessDeniedException):
        env.call(
            "ReEncrypt",
            CiphertextBlob=data,
            SourceEncryptionContext={"a": "1"},
            DestinationKeyId=two,
        )


def test_unknown_keys_are_not_found(env: Env) -> None:
    with pytest.raises(NotFoundException, match="does not exist"):
        env.call("Encrypt", KeyId="11111111-2222-4333-8444-555555555555", Plaintext=b"x")
    with pytest.raises(NotFoundException, match="Invalid keyId"):
        env.call("Encrypt", KeyId="nonsense", Plaintext=b"x")
    with pytest.raises(NotFoundException, match="is not found"):
        env.call("Encrypt", KeyId="alias/none", Plaintext=b"x")


def test_material_is_never_at_rest_in_plaintext(env: Env) -> None:
    one = _key(env)
    env.kms.rotator.rotate(env.kms.keys.lookup(one, ACCOUNT, REGION), KmsRotationType.ON_DEMAND)
    dek = env.call("GenerateDataKey", KeyId=one, KeySpec="AES_256")["Plaintext"]
    env.store.close()  # checkpoints the WAL into the file
    stored = b"".join(p.read_bytes() for p in env.data_dir.glob("warden.db*"))
    made = [t for t in env.ids.tokens if len(t) == 32]
    assert dek in made and len(made) >= 3  # two material versions and the data key
    for token in made:
        assert token not in stored


def test_sealed_material_is_bound_to_its_key_and_version(env: Env) -> None:
    one, two = _key(env), _key(env)
    data = env.call("Encrypt", KeyId=one, Plaintext=b"x")["CiphertextBlob"]
    with env.store.begin() as conn:
        sealed = conn.execute(
            sa.select(kms_key_material.c.sealed_material).where(kms_key_material.c.key_id == one)
        ).scalar_one()
        conn.execute(
            kms_key_material.update()
            .where(kms_key_material.c.key_id == two)
            .values(sealed_material=sealed)
        )
    fresh = Kms(env.store, env.ring, env.clock, env.ids)  # nothing cached
    with pytest.raises(KMSInternalException):
        fresh.crypto.encrypt(fresh.keys.lookup(two, ACCOUNT, REGION), b"x", {})
    assert fresh.crypto.decrypt(data, {}, ACCOUNT, REGION).plaintext.reveal() == b"x"


def test_missing_material_is_an_internal_error_not_a_bad_ciphertext(env: Env) -> None:
    key_id = _key(env)
    data = env.call("Encrypt", KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    with env.store.begin() as conn:
        conn.execute(kms_key_material.delete().where(kms_key_material.c.key_id == key_id))
    fresh = Kms(env.store, env.ring, env.clock, env.ids)
    with pytest.raises(KMSInternalException):
        fresh.crypto.decrypt(data, {}, ACCOUNT, REGION)
