"""SMS: SendSmsMessage, A2PSendSms, ControlSms, GetSmsHistory, A2PGetSmsHistory over voxsim/store/sms.py.

Messages go to the local outbox (`/_voxsim/sms`), never to a real phone. A source must be one of the account's
attached numbers that takes SMS (`is_sms_supported`) and that ControlSms enabled.
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, listing, method, ok
from mock_api.methods.history import when
from mock_api.params import Params
from voxsim.errors import INVALID_PARAMETER, VoxError, invalid, too_long
from voxsim.store.phone_numbers import normalize_number
from voxsim.store.sms import NOT_SUPPORT_SMS, SMS_DISABLED_FOR_NUMBER, Kind, SmsMessage, SmsQuery

SMS_BODY_MAX, A2P_TEXT_MAX, A2P_DESTINATIONS_MAX, HISTORY_MAX_COUNT = 765, 1600, 100, 1000
A2P_SMS_DISABLED = 509
INVALID_SMS_DIRECTION = 470
INVALID_DATE_RANGE = 123


def _number(text: str, name: str) -> str:
    digits = normalize_number(text)
    if digits is None:
        raise invalid(name)
    return digits


def _source(ctx: Context, text: str, name: str, disabled: int) -> str:
    """The account's number that may send: not the account's answers 496, no SMS support 528, not enabled by
    ControlSms `disabled` (386, or 509 for A2P)."""
    digits = _number(text, name)
    number = ctx.store.sms_number(ctx.account.account_id, digits)
    if number is None:
        raise invalid(name)
    if not number[1]:
        raise VoxError(NOT_SUPPORT_SMS, "Sms is not supported")
    if not number[2]:
        raise VoxError(disabled, f"SMS disabled for number {digits}")
    return digits


def _text(p: Params, name: str, limit: int) -> str:
    text = p.text(name, required=True)
    if len(text) > limit:
        raise too_long(name, limit)
    return text


@method("SendSmsMessage", notes="""
    The `source` is one of the account's numbers (not one: 496) that takes SMS (`is_sms_supported`: all the
    pool's numbers but the UK landline and freephone ones; else 528) and that ControlSms enabled (else 386);
    `destination` any phone number (496 when it is none). `sms_body` up to 765 characters (499). The message
    goes to the local outbox (`GET /_voxsim/sms`), never to a phone; `fragments_count` counts GSM-7 (160, 153
    when split) or UCS-2 (70, 67) segments. Nothing is charged.
""")
def send_sms_message(ctx: Context, p: Params) -> Reply:
    source = _source(ctx, p.text("source", required=True), "source", SMS_DISABLED_FOR_NUMBER)
    destination = _number(p.text("destination", required=True), "destination")
    body = _text(p, "sms_body", SMS_BODY_MAX)
    sent = ctx.store.add_sms(ctx.account.account_id, "sms", source, [destination], body,
                             bool(p.flag("store_body", default=False)))
    return ok(message_id=sent[0].message_id, fragments_count=sent[0].fragments)


@method("A2PSendSms", notes="""
    SenderIDs are not emulated: `src_number` is one of the account's numbers with SMS enabled as for
    SendSmsMessage (496, 528; not enabled: 509). `dst_numbers` is a `;` list of at most 100 (496); one that is no
    phone number goes to `failed` ({destination_number, error_code 496, error_description}), the others each get a
    `message_id` in `result` (SmsTransaction). `text` up to 1600 characters (499). Local outbox only, free.
""")
def a2p_send_sms(ctx: Context, p: Params) -> Reply:
    source = _source(ctx, p.text("src_number", required=True), "src_number", A2P_SMS_DISABLED)
    given = p.texts("dst_numbers", required=True)
    if len(given) > A2P_DESTINATIONS_MAX:
        raise invalid("dst_numbers")
    text = _text(p, "text", A2P_TEXT_MAX)
    valid = [(raw, normalize_number(raw)) for raw in given]
    failed = [{"destination_number": raw, "error_code": INVALID_PARAMETER,
               "error_description": "The destination is not a phone number"} for raw, digits in valid if digits is None]
    sent = ctx.store.add_sms(ctx.account.account_id, "a2p", source, [d for _, d in valid if d is not None], text,
                             bool(p.flag("store_body", default=False)))
    return {"result": [{"message_id": m.message_id, "destination_number": m.destination_number} for m in sent],
            "failed": failed, "fragments_count": sent[0].fragments if sent else 0}


@method("ControlSms", notes="""
    `phone_number` is one of the account's numbers (else 496) that takes SMS (else 528); `command` is `enable` or
    `disable` (else 496). GetPhoneNumbers shows it in `is_sms_enabled`; deactivating the number forgets it.
""")
def control_sms(ctx: Context, p: Params) -> Reply:
    digits = _number(p.text("phone_number", required=True), "phone_number")
    command = p.text("command", required=True).strip().lower()
    if command not in ("enable", "disable"):
        raise invalid("command")
    if not ctx.store.control_sms(ctx.account.account_id, digits, command == "enable"):
        raise invalid("phone_number")
    return ok()


def _history(ctx: Context, p: Params, kind: Kind) -> Reply:
    if (p.text("output") or "json").lower() != "json":
        raise VoxError(INVALID_PARAMETER, "Only the json 'output' is emulated")
    message_ids = None if p.is_all("message_id") or (p.text("message_id") or "").lower() == "any" \
        else p.integers("message_id")
    from_date, to_date = when(p, "from_date"), when(p, "to_date")
    if from_date and to_date and from_date > to_date:
        raise VoxError(INVALID_DATE_RANGE, "Invalid date range: 'from_date' is after 'to_date'")
    source, destination = p.text("source_number"), p.text("destination_number")
    query = SmsQuery(kind, message_ids, source and _number(source, "source_number"),
                     destination and _number(destination, "destination_number"), from_date, to_date)
    count, offset = p.paging(default_count=HISTORY_MAX_COUNT, max_count=HISTORY_MAX_COUNT)
    total, messages = ctx.store.sms_history(ctx.account.account_id, query, count, offset)
    return listing([SmsMessage.history(m) for m in messages], total)


@method("GetSmsHistory", notes="""
    SendSmsMessage's messages, oldest first: `message_id` (a `;` list or `any`), `source_number`,
    `destination_number`, `direction` (`IN`/`OUT`, any case; else 470: inbound SMS is not emulated, so `IN` lists
    none), `from_date`/`to_date`, `count` (1000 by default and at most), `offset`; `output` json only (else 496).
    Items are SmsHistoryType: `direction` OUT, `status_id` "1", `cost` 0, `text` only when sent with `store_body`,
    `processed_date` the day only (the official Python client reads it as a date). The latest 1000 messages per
    account are kept.
""")
def get_sms_history(ctx: Context, p: Params) -> Reply:
    direction = (p.text("direction") or "").upper()
    if direction not in ("", "IN", "OUT"):
        raise VoxError(INVALID_SMS_DIRECTION, "Invalid value specified for the 'direction' parameter. "
                                              "Allowed parameter values are: 'IN', 'OUT'")
    if direction == "IN":
        _history(ctx, p, "sms")  # the parameters are checked all the same
        return listing([], 0)
    return _history(ctx, p, "sms")


@method("A2PGetSmsHistory", notes="""
    A2PSendSms' messages with GetSmsHistory's filters (no `direction`) and `delivery_status` (1 to 8; every
    message is DELIVERED, 5, so others list none). Items are A2PSmsHistoryType: `status_id` "1", `cost` 0,
    `transaction_id` the `message_id`, `processing_date` the day only, `text` only when sent with `store_body`.
""")
def a2p_get_sms_history(ctx: Context, p: Params) -> Reply:
    status = p.integer("delivery_status")
    if status is not None and not 1 <= status <= 8:
        raise invalid("delivery_status")
    reply = _history(ctx, p, "a2p")
    return reply if status in (None, 5) else listing([], 0)
