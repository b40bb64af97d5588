"""Caller ID methods: AddCallerID, VerifyCallerID, ActivateCallerID, GetCallerIDs, DelCallerID.

A caller ID is a number of the account's own (a mobile, an office line) that callPSTN may show once it is
verified. The platform verifies it with a call that speaks a code; voxsim's verification call is simulated:
VerifyCallerID writes the code to the emulator's log (`voxsim logs`), and ActivateCallerID takes it
(voxsim/store/phone_numbers.py).
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.params import Params
from voxsim.store.phone_numbers import CallerID, normalize_number

CALLER_NOTE = "`callerid_id` or `callerid_number` (`+` optional) names the caller ID; an unknown one answers 496."


def _caller(ctx: Context, p: Params) -> CallerID:
    by = p.one_of("callerid_id", "callerid_number", required=True)
    if by == "callerid_id":
        return ctx.store.get_caller_id(ctx.account.account_id, callerid_id=p.integer("callerid_id", required=True))
    return ctx.store.get_caller_id(ctx.account.account_id, callerid_number=p.text("callerid_number", required=True))


@method("AddCallerID", notes="""
    `callerid_number` in E.164 (6 to 15 digits, `+` optional; else 496; one the account has answers 493). The new
    caller ID is not verified (`active` false) until ActivateCallerID. Returns `result: 1, callerid_id`.
""")
def add_caller_id(ctx: Context, p: Params) -> Reply:
    caller = ctx.store.add_caller_id(ctx.account.account_id, p.text("callerid_number", required=True))
    return ok(callerid_id=caller.callerid_id)


@method("VerifyCallerID", notes=CALLER_NOTE + """
    Simulated: no phone rings; the emulator's log gets the 5-digit code the call would speak
    ("Caller ID verification call to +...: the code is NNNNN"). 5 calls per caller ID; a verified one answers 493.
""")
def verify_caller_id(ctx: Context, p: Params) -> Reply:
    ctx.store.verify_caller_id(_caller(ctx, p))
    return ok()


@method("ActivateCallerID", notes=CALLER_NOTE + """
    `verification_code` is the last verification call's code; a wrong one answers 496 and costs one of 5 attempts.
    The caller ID is then verified for a year (`verified_until`).
""")
def activate_caller_id(ctx: Context, p: Params) -> Reply:
    ctx.store.activate_caller_id(_caller(ctx, p), p.text("verification_code", required=True))
    return ok()


@method("GetCallerIDs", notes="""
    Filters `callerid_id`, `callerid_number`, `active`; `count` 20 by default, `offset`; ordered by id
    (`order_by` is accepted and changes nothing).
""")
def get_caller_ids(ctx: Context, p: Params) -> Reply:
    callerid_id, number, active = p.integer("callerid_id"), p.text("callerid_number"), p.flag("active")
    wanted = (normalize_number(number) or number) if number is not None else None
    callers = [c for c in ctx.store.list_caller_ids(ctx.account.account_id)
               if (callerid_id is None or c.callerid_id == callerid_id)
               and (wanted is None or c.callerid_number == wanted) and (active is None or c.active == active)]
    return paged(callers, p, lambda caller: caller.api())


@method("DelCallerID", notes=CALLER_NOTE)
def del_caller_id(ctx: Context, p: Params) -> Reply:
    ctx.store.del_caller_id(_caller(ctx, p))
    return ok()
