"""Management API authentication: `account_id`/`account_name` + `api_key`, or an RS256 JWT.

JWT rules (docs and what the official clients mint): header `kid` names a service-account key,
`iss` is the account id as a number or a numeric string, `exp - iat` at most 3600 s, and a few
seconds of clock skew are allowed (the Python client backdates `iat` by 5 s).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import jwt

from voxsim.errors import (
    AUTHORIZATION_FAILED,
    JWT_EXPIRED,
    JWT_INVALID_FORMAT,
    JWT_ISSUED_IN_FUTURE,
    JWT_TTL_TOO_LONG,
    VoxError,
)
from voxsim.model import Account
from voxsim.store import Store

MAX_TTL = 3600
CLOCK_SKEW = 10


def auth_failed() -> VoxError:
    return VoxError(AUTHORIZATION_FAILED, "Authorization failed")


def authenticate(store: Store, params: Mapping[str, str], authorization: str | None,
                 now: float | None = None) -> tuple[Account, str]:
    """The account a request acts as, and how it proved it ("jwt" or "api_key")."""
    if authorization and authorization.strip():
        return verify_jwt(store, authorization, time.time() if now is None else now), "jwt"
    return verify_api_key(store, params), "api_key"


def verify_api_key(store: Store, params: Mapping[str, str]) -> Account:
    api_key = params.get("api_key")
    account_id = params.get("account_id")
    account_name = params.get("account_name")
    if not api_key or not (account_id or account_name):
        raise auth_failed()
    account = None
    if account_id:
        try:
            account = store.find_account(account_id=int(account_id))
        except ValueError:
            account = None
        if account is not None and account_name and account.account_name != account_name:
            account = None
    else:
        account = store.find_account(account_name=account_name)
    if account is None or account.api_key != api_key:
        raise auth_failed()
    return account


def verify_jwt(store: Store, authorization: str, now: float) -> Account:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise VoxError(JWT_INVALID_FORMAT, "Invalid token format")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise VoxError(JWT_INVALID_FORMAT, "Invalid token format") from exc
    key = store.get_service_key(str(header.get("kid", "")))
    if key is None or header.get("alg") != "RS256":
        raise auth_failed()
    try:
        # PyJWS, not jwt.decode: the Node and Go clients put a number in `iss`, which PyJWT's claim
        # layer refuses; the claims are checked below by the platform's own rules.
        payload = jwt.api_jws.PyJWS().decode(token, key.public_key, algorithms=["RS256"])
        claims = json.loads(payload)
    except jwt.InvalidSignatureError as exc:
        raise auth_failed() from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise VoxError(JWT_INVALID_FORMAT, "Invalid token format") from exc
    if not isinstance(claims, dict):
        raise VoxError(JWT_INVALID_FORMAT, "Invalid token format")
    _check_times(claims, now)
    if _issuer(claims) != key.account_id:
        raise auth_failed()
    return store.get_account(key.account_id)


def _check_times(claims: Mapping[str, object], now: float) -> None:
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float) or isinstance(iat, bool):
        raise VoxError(JWT_INVALID_FORMAT, "Invalid token format")
    if exp - iat > MAX_TTL:
        raise VoxError(JWT_TTL_TOO_LONG, "The token TTL exceeds the maximum limit")
    if iat > now + CLOCK_SKEW:
        raise VoxError(JWT_ISSUED_IN_FUTURE, "Token issued in the future")
    if exp < now - CLOCK_SKEW:
        raise VoxError(JWT_EXPIRED, "The token has expired")


def _issuer(claims: Mapping[str, object]) -> int | None:
    iss = claims.get("iss")
    if isinstance(iss, bool):
        return None
    if isinstance(iss, int):
        return iss
    if isinstance(iss, str) and iss.strip().isdigit():
        return int(iss.strip())
    return None
