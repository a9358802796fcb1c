"""AWS Signature Version 4, verified without I/O.

The server calls ``extract`` on every request, looks the access key up itself (raising
``SigV4Error(AuthFailure.UNKNOWN_KEY, ...)`` when it is unknown), then calls ``verify`` with the
secret. ``presign`` builds presigned query strings such as RDS IAM auth tokens. This package
imports only the standard library: no botocore, no sockets, no environment.
"""

from warden.sigv4.canonical import SigningKeys
from warden.sigv4.errors import AuthFailure, SigV4Error
from warden.sigv4.extract import SignatureInfo, extract
from warden.sigv4.presign import presign
from warden.sigv4.verify import SIGNATURE_MISMATCH, check_time, verify

__all__ = [
    "SIGNATURE_MISMATCH",
    "AuthFailure",
    "SigV4Error",
    "SignatureInfo",
    "SigningKeys",
    "check_time",
    "extract",
    "presign",
    "verify",
]
