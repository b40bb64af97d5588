"""Phone number methods: GetPhoneNumberCategories, GetPhoneNumberCountryStates, GetPhoneNumberRegions,
GetNewPhoneNumbers, AttachPhoneNumber, GetPhoneNumbers, IsAccountPhoneNumber, BindPhoneNumberToApplication,
DeactivatePhoneNumber, SetPhoneNumberInfo.

The numbers are the fictitious pool of voxsim/store/phone_numbers.py (docs/pstn.md lists its ranges); numbers
are E.164 digits without `+` in every answer, and read with or without it.
"""

from __future__ import annotations

from typing import Any

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.methods.applications import application_from
from mock_api.params import Params
from voxsim.errors import INVALID_RULE_ID, invalid, specify
from voxsim.store.phone_numbers import (
    CATEGORY_NAMES,
    COUNTRIES,
    PHONE_PERIOD,
    POOL,
    Country,
    PhoneFilter,
    Region,
    country,
    mask_matcher,
    normalize_number,
    pool_region,
)

NEW_NUMBERS_COUNT, NEW_NUMBERS_MAX_COUNT = 20, 1000  # [INF] GetNewPhoneNumbers' paging is undocumented
POOL_NOTE = """
    voxsim's pool holds fictitious numbers only (US 555-01xx in area codes 212, 213, 415, 312, 206 and toll-free
    800; the UK Ofcom drama ranges of London, Birmingham, Manchester, mobile 07700 900xxx and freephone 0808 157):
    docs/pstn.md. Nothing is charged.
"""


def _countries(codes: list[str] | None) -> list[Country]:
    wanted = {code.upper() for code in codes} if codes else None
    return [c for c in COUNTRIES if wanted is None or c.country_code in wanted]


def _category_info(c: Country, category: str) -> dict[str, Any]:
    return {"phone_category_name": category, "localized_phone_category_name": CATEGORY_NAMES[category],
            "country_has_states": bool(c.states) and category == "GEOGRAPHIC",
            "localized_country_name": c.name, "phone_period": PHONE_PERIOD}


def _regions(p: Params, *, require_category: bool) -> list[Region]:
    """The pool's regions that `country_code`, `phone_category_name`, `country_state` and `phone_region_id` select."""
    code = p.text("country_code", required=True).upper()
    category = p.text("phone_category_name", required=require_category)
    state = p.text("country_state")
    region_id = p.integer("phone_region_id")
    return [r for r in POOL if r.country_code == code and (category is None or r.category == category.upper())
            and (state is None or r.country_state == state.upper())
            and (region_id is None or r.phone_region_id == region_id)]


@method("GetPhoneNumberCategories", notes=POOL_NOTE + """
    Without `country_code` every country of the pool; a country with no numbers in the pool gives no item.
    `sandbox` and `locale` are accepted and change nothing (names are English).
""")
def get_categories(ctx: Context, p: Params) -> Reply:
    result = []
    for c in _countries(p.texts("country_code")):
        categories = list(dict.fromkeys(r.category for r in POOL if r.country_code == c.country_code))
        result.append({"country_code": c.country_code, "phone_prefix": c.phone_prefix,
                       "localized_country_name": c.name, "can_list_phone_numbers": True,
                       "emergency_calls_to_be_enabled": False,
                       "phone_categories": [_category_info(c, cat) for cat in categories]})
    return {"result": result}


@method("GetPhoneNumberCountryStates", notes="""
    The states of the pool's US GEOGRAPHIC numbers (CA, IL, NY, WA); other countries and categories have none.
""")
def get_country_states(ctx: Context, p: Params) -> Reply:
    c = country(p.text("country_code", required=True))
    category = (p.text("phone_category_name") or "GEOGRAPHIC").upper()
    state = p.text("country_state")
    states = c.states if c is not None and category == "GEOGRAPHIC" else ()
    return {"result": [{"country_state": code, "country_state_name": name} for code, name in states
                       if state is None or code == state.upper()]}


def _region_info(ctx: Context, region: Region, free: int) -> dict[str, Any]:
    c = country(region.country_code)
    assert c is not None
    currency = ctx.account.currency
    return {
        "phone_region_id": region.phone_region_id, "phone_region_name": region.phone_region_name,
        "phone_region_code": region.phone_region_code, "phone_count": free, "phone_period": PHONE_PERIOD,
        "localized_country_name": c.name, "localized_phone_category_name": CATEGORY_NAMES[region.category],
        "localized_phone_region_name": region.phone_region_name, "is_need_regulation_address": False,
        "is_sms_supported": region.sms_supported, "multiple_numbers_price": [], "account_currency": currency,
        "account_price": region.phone_price, "account_installation_price": region.phone_installation_price,
        "local_currency": currency, "local_price": region.phone_price,
        "local_installation_price": region.phone_installation_price, "phone_tax_reserve": 0,
        "phone_installation_tax_reserve": 0,
    }


@method("GetPhoneNumberRegions", notes="""
    `phone_count` is how many of the region's numbers no account has attached; `omit_empty` leaves out regions
    with none. `phone_region_name` matches a part of the name, case-insensitively.
""")
def get_regions(ctx: Context, p: Params) -> Reply:
    regions = _regions(p, require_category=True)
    name, code = p.text("phone_region_name"), p.text("phone_region_code")
    regions = [r for r in regions if (name is None or name.lower() in r.phone_region_name.lower())
               and (code is None or r.phone_region_code == code)]
    taken = ctx.store.taken_numbers()
    result = []
    for region in regions:
        free = sum(1 for _, number in region.numbers() if number not in taken)
        if free or not p.flag("omit_empty", False):
            result.append(_region_info(ctx, region, free))
    return {"result": result}


def _new_number(phone_id: int, number: str, region: Region) -> dict[str, Any]:
    return {"phone_id": phone_id, "phone_number": number, "phone_price": region.phone_price,
            "phone_installation_price": region.phone_installation_price, "phone_country_code": region.country_code,
            "phone_period": PHONE_PERIOD, "phone_category_name": region.category,
            "phone_region_name": region.phone_region_name, "phone_tax_reserve": 0,
            "phone_installation_tax_reserve": 0}


@method("GetNewPhoneNumbers", notes="""
    The free numbers of the pool: of the region that `country_code`, `phone_category_name`, `country_state` and
    `phone_region_id` select, or of the whole pool without them (every pool number is available to the
    account). `phone_number_mask` keeps the numbers that contain its digits, `*` standing for any run of digits.
    `count` is 20 by default, 1000 at most.
""")
def get_new_numbers(ctx: Context, p: Params) -> Reply:
    regions = _regions(p, require_category=False) if "country_code" in p else list(POOL)
    matcher = mask_matcher(p.text("phone_number_mask"))
    free = [entry for entry in ctx.store.free_pool_numbers(regions)
            if matcher is None or matcher.fullmatch(entry[1])]
    return paged(free, p, lambda entry: _new_number(*entry), max_count=NEW_NUMBERS_MAX_COUNT)


@method("AttachPhoneNumber", notes="""
    `phone_number` (a `;` list) attaches those free pool numbers; else `phone_count` (1 by default) numbers of the
    region that `country_code`, `phone_category_name` and `phone_region_id` name (all three required, 485).
    A number that is not a free pool number, or a region with too few, answers 496. Returns `result: 1` and
    `phone_numbers: [{phone_id, phone_number}]`.
""")
def attach(ctx: Context, p: Params) -> Reply:
    p.one_of("phone_count", "phone_number")
    wanted = p.texts("phone_number")
    if wanted is not None:
        numbers = [normalize_number(n) or n for n in wanted]
    else:
        numbers = _from_region(ctx, p)
    attached = ctx.store.attach_phone_numbers(ctx.account.account_id, numbers)
    return ok(phone_numbers=[{"phone_id": n.phone_id, "phone_number": n.phone_number} for n in attached])


def _from_region(ctx: Context, p: Params) -> list[str]:
    for name in ("country_code", "phone_category_name", "phone_region_id"):
        if name not in p:
            raise specify(name)
    count = p.integer("phone_count")
    count = 1 if count is None else count
    if count < 1:
        raise invalid("phone_count")
    region = pool_region(p.integer("phone_region_id", required=True))
    if region is None or region not in _regions(p, require_category=True):
        raise invalid("phone_region_id")
    free = ctx.store.free_pool_numbers([region])
    if len(free) < count:
        raise invalid("phone_count")
    return [number for _, number, _ in free[:count]]


def _phone_filter(ctx: Context, p: Params) -> PhoneFilter:
    app_ids = p.integers("application_id")
    app_names = p.texts("application_name")
    if app_names is not None:
        app_ids = [ctx.store.get_application(ctx.account.account_id, application_name=n).application_id
                   for n in app_names]
    rule_ids = p.integers("rule_id", code=INVALID_RULE_ID)
    rule_names = p.texts("rule_name")
    if rule_names is not None:
        rule_ids = [ctx.store.get_rule(ctx.account.account_id, rule_name=n).rule_id for n in rule_names]
    numbers = p.texts("phone_number")
    return PhoneFilter(
        phone_ids=p.integers("phone_id"),
        phone_numbers=[normalize_number(n) or n for n in numbers] if numbers is not None else None,
        application_ids=app_ids, is_bound_to_application=p.flag("is_bound_to_application"),
        rule_ids=rule_ids, is_bound_to_rule=p.flag("is_bound_to_rule"),
        country_codes=[c.upper() for c in p.texts("country_code") or []] or None,
        categories=[c.upper() for c in p.texts("phone_category_name") or []] or None,
        region_names=[r.lower() for r in p.texts("phone_region_name") or []] or None,
        template=p.text("phone_template"))


@method("GetPhoneNumbers", notes="""
    Filters: `phone_id`, `phone_number`, `application_id` / `application_name`, `is_bound_to_application`,
    `rule_id` / `rule_name`, `is_bound_to_rule`, `country_code`, `phone_category_name`, `phone_region_name`,
    `phone_template` (as GetNewPhoneNumbers' mask); `count` 20 by default, `offset`. The other filters (renewal
    and purchase dates, verification, child accounts, `canceled`, `deactivated`) are accepted and change nothing:
    voxsim's numbers never lapse. Ordered by `phone_id`.
""")
def get_numbers(ctx: Context, p: Params) -> Reply:
    numbers = ctx.store.list_phone_numbers(ctx.account.account_id, _phone_filter(ctx, p))
    return paged(numbers, p, lambda number: number.api())


@method("IsAccountPhoneNumber", notes="`result` is true when the number is attached to the account.")
def is_account_number(ctx: Context, p: Params) -> Reply:
    number = normalize_number(p.text("phone_number", required=True))
    found = ctx.store.find_phone_number(number) if number is not None else None
    return {"result": found is not None and found.account_id == ctx.account.account_id}


def _phone_ids(ctx: Context, p: Params) -> list[int]:
    """The account's numbers that `phone_id` or `phone_number` (`;` lists) name; an unknown one answers 496."""
    by = p.one_of("phone_id", "phone_number", required=True)
    account_id = ctx.account.account_id
    if by == "phone_id":
        return [ctx.store.get_phone_number(account_id, phone_id=i).phone_id
                for i in p.integers("phone_id", required=True)]
    return [ctx.store.get_phone_number(account_id, phone_number=n).phone_id
            for n in p.texts("phone_number", required=True)]


@method("BindPhoneNumberToApplication", notes="""
    Binds the numbers (`phone_id` or `phone_number`, `;` lists) to the application and, with `rule_id` /
    `rule_name`, to that rule of it (an unknown rule, or one of another application, answers 147, 156 by name).
    A call to a number bound to a rule runs that rule; bound to the application alone, the application's rules
    are matched against the number. `bind=false` unbinds the numbers from both (no application needed).
""")
def bind(ctx: Context, p: Params) -> Reply:
    phone_ids = _phone_ids(ctx, p)
    binding = p.flag("bind", True)
    p.one_of("rule_id", "rule_name")
    app = application_from(ctx, p, required=False)
    if binding and app is None:
        raise specify("application_id")
    rule = None
    if app is not None:
        rule = ctx.store.binding_rule(ctx.account.account_id, app, rule_id=p.integer("rule_id", code=INVALID_RULE_ID),
                                      rule_name=p.text("rule_name"))
    elif "rule_name" in p or "rule_id" in p:
        raise specify("application_id")
    ctx.store.bind_phone_numbers(ctx.account.account_id, phone_ids,
                                 application_id=app.application_id if app is not None else None,
                                 rule_id=rule.rule_id if rule is not None else None, bind=binding)
    return ok()


@method("DeactivatePhoneNumber", notes="The numbers leave the account at once and return to the pool.")
def deactivate(ctx: Context, p: Params) -> Reply:
    ctx.store.deactivate_phone_numbers(ctx.account.account_id, _phone_ids(ctx, p))
    return ok()


@method("SetPhoneNumberInfo", notes="""
    Sets `incoming_sms_callback_url` (an http(s) URL, or empty to clear it; anything else answers 496). Inbound
    SMS are not emulated, so nothing is ever sent there.
""")
def set_info(ctx: Context, p: Params) -> Reply:
    phone_ids = _phone_ids(ctx, p)
    url = (p.text("incoming_sms_callback_url") or "").strip()
    if url and not url.lower().startswith(("http://", "https://")):
        raise invalid("incoming_sms_callback_url")
    ctx.store.set_phone_number_info(ctx.account.account_id, phone_ids, url)
    return ok()

