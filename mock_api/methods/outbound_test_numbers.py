"""Outbound test number methods: AddOutboundTestPhoneNumber, VerifyOutboundTestPhoneNumber,
ActivateOutboundTestPhoneNumber, DelOutboundTestPhoneNumber, GetOutboundTestPhoneNumbers.

The account's one personal test number (voxsim/store/outbound_test_numbers.py); its verification call is
simulated: the code goes to the emulator's log.
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, method, ok
from mock_api.params import Params

NO_NUMBER = " Without a test number the method answers 496."


@method("AddOutboundTestPhoneNumber", notes="""
    `phone_number` (E.164; 496 when it is none) becomes the account's test number, unverified. An account has one:
    adding another before DelOutboundTestPhoneNumber answers 493.
""")
def add_number(ctx: Context, p: Params) -> Reply:
    ctx.store.add_outbound_test_number(ctx.account.account_id, p.text("phone_number", required=True))
    return ok()


@method("VerifyOutboundTestPhoneNumber", notes=NO_NUMBER + """
    Simulated: no phone rings; the emulator's log gets the 5-digit code the call would speak ("Test phone number
    verification call to +...: the code is NNNNN"). Answers `result: 1, daily_attempts_left` (5 calls a day, from
    00:00 UTC; 496 when none are left, 493 when the number is verified already; the platform's minute between two
    calls and 100 calls in all are not enforced). The official Python client returns this method's errors
    instead of raising them.
""")
def verify_number(ctx: Context, p: Params) -> Reply:
    _, left = ctx.store.verify_outbound_test_number(ctx.account.account_id)
    return ok(daily_attempts_left=left)


@method("ActivateOutboundTestPhoneNumber", notes=NO_NUMBER + """
    `verification_code` is the code of the last verification call (496 otherwise); the number is verified.
""")
def activate_number(ctx: Context, p: Params) -> Reply:
    ctx.store.activate_outbound_test_number(ctx.account.account_id, p.text("verification_code", required=True))
    return ok()


@method("DelOutboundTestPhoneNumber", notes=NO_NUMBER)
def del_number(ctx: Context, p: Params) -> Reply:
    ctx.store.del_outbound_test_number(ctx.account.account_id)
    return ok()


@method("GetOutboundTestPhoneNumbers", notes="""
    `result` is the test number, `[{phone_number, is_verified, country_code}]` (empty without one); `country_code`
    is known for the countries of voxsim's number pool (US, GB) and empty otherwise. A verified test number is
    not a caller ID: callPSTN's callerid check does not admit it.
""")
def get_numbers(ctx: Context, p: Params) -> Reply:
    number = ctx.store.outbound_test_number(ctx.account.account_id)
    return {"result": [number.api()] if number is not None else []}
