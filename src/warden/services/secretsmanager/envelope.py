"""Envelope encryption of secret values: a fresh KMS data key per version, AES-256-GCM.

Invariants:
- Each version is sealed under its own data key from ``DataKeys`` (KMS), with the encryption
  context ``{"SecretARN": arn, "SecretVersionId": version}``; the store keeps only the
  ciphertext and the KMS-encrypted data key, never the plaintext or the data key.
- The associated data binds a ciphertext to its secret ARN, version id and value kind, so a
  ciphertext copied onto another version or secret does not open (``DecryptionFailure``).
- The data key's plaintext lives only inside ``seal``/``open`` and is never logged or stored.

Wire format of ``SealedValue.ciphertext``: ``b"S1" + nonce(12) + AES-GCM(ct || tag)``.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from warden.core.redacted import Redacted
from warden.protocol.errors import AccessDeniedException
from warden.services.context import CallContext
from warden.services.ports import DataKeys, KeyAccessDenied, KeyUnavailable

from .errors import DecryptionFailure, EncryptionFailure

MANAGED_ALIAS = "alias/aws/secretsmanager"
DEFAULT_KEY_LABEL = "DefaultEncryptionKey"  # what ListSecretVersionIds shows for aws/secretsmanager
_MAGIC = b"S1"
_NONCE = 12


class ValueKind(enum.Enum):
    STRING = "string"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class SecretValue:
    """A plaintext secret value: the bytes (UTF-8 for strings), redacted in every repr."""

    kind: ValueKind
    data: Redacted[bytes]

    @classmethod
    def of_string(cls, text: str) -> SecretValue:
        return cls(ValueKind.STRING, Redacted(text.encode("utf-8")))

    @classmethod
    def of_binary(cls, blob: bytes) -> SecretValue:
        return cls(ValueKind.BINARY, Redacted(bytes(blob)))

    def same_as(self, other: SecretValue) -> bool:
        """Constant-time equality of kind and bytes (Redacted compares with compare_digest)."""
        return self.kind is other.kind and self.data == other.data

    def wire(self) -> dict[str, str | bytes]:
        raw = self.data.reveal()
        if self.kind is ValueKind.STRING:
            return {"SecretString": raw.decode("utf-8")}
        return {"SecretBinary": raw}


@dataclass(frozen=True, slots=True)
class SealedValue:
    kind: ValueKind
    ciphertext: bytes
    data_key_blob: bytes  # the data key, encrypted by KMS
    kms_key_arn: str


def _context(arn: str, version_id: str) -> dict[str, str]:
    return {"SecretARN": arn, "SecretVersionId": version_id}


def _aad(arn: str, version_id: str, kind: ValueKind) -> bytes:
    return b"\x00".join(
        (b"warden:secretsmanager:v1", arn.encode(), version_id.encode(), kind.value.encode())
    )


class Envelope:
    def __init__(self, keys: DataKeys) -> None:
        self._keys = keys

    def seal(
        self,
        value: SecretValue,
        *,
        account_id: str,
        region: str,
        arn: str,
        version_id: str,
        key_id: str | None,
        caller: CallContext | None = None,
    ) -> SealedValue:
        try:
            data_key = self._keys.generate_data_key(
                account_id=account_id,
                region=region,
                key_id=key_id,
                managed_alias=MANAGED_ALIAS,
                encryption_context=_context(arn, version_id),
                caller=caller,
            )
        except KeyAccessDenied:
            raise _kms_denied() from None
        except KeyUnavailable as exc:
            raise encryption_failure(exc) from None
        nonce = secrets.token_bytes(_NONCE)
        body = AESGCM(data_key.plaintext.reveal()).encrypt(
            nonce, value.data.reveal(), _aad(arn, version_id, value.kind)
        )
        return SealedValue(
            value.kind, _MAGIC + nonce + body, data_key.ciphertext_blob, data_key.key_arn
        )

    def open(
        self,
        sealed: SealedValue,
        *,
        account_id: str,
        region: str,
        arn: str,
        version_id: str,
        caller: CallContext | None = None,
    ) -> SecretValue:
        try:
            key, _key_arn = self._keys.decrypt_data_key(
                account_id=account_id,
                region=region,
                ciphertext_blob=sealed.data_key_blob,
                encryption_context=_context(arn, version_id),
                caller=caller,
            )
        except KeyAccessDenied:
            raise _kms_denied() from None
        except KeyUnavailable as exc:
            raise DecryptionFailure(
                message="Secrets Manager can't decrypt the protected secret text using the "
                f"provided KMS key: {exc.reason}"
            ) from None
        blob = sealed.ciphertext
        if len(blob) < len(_MAGIC) + _NONCE + 16 or blob[: len(_MAGIC)] != _MAGIC:
            raise _undecryptable()
        nonce = blob[len(_MAGIC) : len(_MAGIC) + _NONCE]
        try:
            plain = AESGCM(key.reveal()).decrypt(
                nonce, blob[len(_MAGIC) + _NONCE :], _aad(arn, version_id, sealed.kind)
            )
        except (InvalidTag, ValueError):
            raise _undecryptable() from None
        return SecretValue(sealed.kind, Redacted(plain))

    def resolve_key(self, *, account_id: str, region: str, key_id: str | None) -> str:
        """The ARN of the KMS key ``key_id`` names (EncryptionFailure if it can't be used)."""
        try:
            return self._keys.resolve_key(
                account_id=account_id, region=region, key_id=key_id, managed_alias=MANAGED_ALIAS
            )
        except KeyUnavailable as exc:
            raise encryption_failure(exc) from None


def encryption_failure(exc: KeyUnavailable) -> EncryptionFailure:
    return EncryptionFailure(
        message="Secrets Manager can't encrypt the protected secret text using the provided "
        f"KMS key. Check that the KMS key is available, enabled, and not in an invalid state: "
        f"{exc.reason}"
    )


def _kms_denied() -> AccessDeniedException:
    # What Secrets Manager answers when the caller may not use the secret's KMS key.
    return AccessDeniedException(message="Access to KMS is not allowed")


def _undecryptable() -> DecryptionFailure:
    return DecryptionFailure(
        message="Secrets Manager can't decrypt the protected secret text using the provided "
        "KMS key."
    )
