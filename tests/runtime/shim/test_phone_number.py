"""PhoneNumber.getInfo (voxsim/runtime/shim/phone_number.js over phone_metadata.js): the answers of the phonenumbers
package (libphonenumber), for example numbers of every region and type written every way, and for bad input."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import phonenumbers
import pytest
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType
from phonenumbers.geocoder import country_name_for_number
from py_mini_racer import MiniRacer

from tests.runtime.conftest import start
from voxsim.runtime import Runtime
from voxsim.runtime.bridge import SHIM_SOURCE

ROOT = Path(__file__).resolve().parents[3]
ERRORS = {NumberParseException.INVALID_COUNTRY_CODE: "INVALID_COUNTRY_CODE",
          NumberParseException.NOT_A_NUMBER: "NOT_A_NUMBER",
          NumberParseException.TOO_SHORT_AFTER_IDD: "TOO_SHORT_AFTER_IDD",
          NumberParseException.TOO_SHORT_NSN: "TOO_SHORT_NSN", NumberParseException.TOO_LONG: "TOO_LONG_NSN"}
TYPES = [t for t in PhoneNumberType.values() if t != PhoneNumberType.UNKNOWN]


def expected(number: str, country: str | None) -> dict[str, Any]:
    """PhoneNumber.Info as libphonenumber computes it (what phone_number.js ports)."""
    region = country.upper() if country else None
    try:
        parsed = phonenumbers.parse(number, region)
    except NumberParseException as exc:
        return {"numberType": "UNKNOWN", "region": "", "location": "", "isPossibleNumber": False,
                "isValidNumber": False, "isValidNumberForRegion": False, "number": "",
                "error": ERRORS[exc.error_type]}
    detected = phonenumbers.region_code_for_number(parsed)
    return {
        "numberType": PhoneNumberType.to_string(phonenumbers.number_type(parsed)),
        "region": detected or "",
        "location": country_name_for_number(parsed, "en"),
        "isPossibleNumber": phonenumbers.is_possible_number(parsed),
        "isValidNumber": phonenumbers.is_valid_number(parsed),
        "isValidNumberForRegion": phonenumbers.is_valid_number_for_region(parsed, region or detected),
        "number": phonenumbers.format_number(parsed, PhoneNumberFormat.E164),
    }


def samples() -> Iterator[tuple[str, str | None]]:
    """Every region's example number of every type: E.164, international from elsewhere, national, dialled
    from abroad with the IDD, without the +, and damaged (a digit more, a digit less)."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            yield e164, None
            yield phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL), "US"
            yield phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL), region
            yield phonenumbers.format_out_of_country_calling_number(example, "DE"), "DE"
            yield phonenumbers.format_out_of_country_calling_number(example, "US"), "us"
            yield e164[1:], region
            yield e164 + "5", None
            yield e164[:-2], region
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            yield phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL), None


ODD = [
    ("+1 (650) 253-0000 ext. 123", None), ("650-253-0000 x123", "US"), ("1-800-FLOWERS", "US"),
    ("tel:+1-650-253-0000;isub=12", None), ("tel:253-0000;phone-context=+1-650", None),
    ("tel:253-0000;phone-context=example.com", "US"), ("tel:253;phone-context=", "US"),
    ("Tel: 020 7946 0000.", "GB"), ("+44 (0) 20 7946 0000", None), ("０２０ ７９４６ ００００", "GB"),
    ("8 (495) 123-45-67", "RU"), ("8 10 1 650 253 0000", "RU"), ("011 44 20 7946 0000", "US"),
    ("00 0", "DE"), ("+0123456", None), ("+999 1234567", None), ("12", "US"), ("1", "US"), ("", "US"),
    ("abc", "US"), ("12345678901234567890", "US"), ("2125550100", None), ("2125550100", "ZZ"),
    ("2125550100", "XX"), ("+12125550100", "XX"), ("+12125550100", "CA"), ("+1 204 555 0100", "US"),
    ("+7 701 123 4567", "RU"), ("+39 06 6982 1234", None), ("06 6982 1234", "IT"), ("+800 1234 5678", None),
    ("+882 3421 2345", None), ("+1 441 555 0100", None), ("+44 7700 900123", None), ("+5511961234567", None),
    ("011 55 11 96123 4567", "US"), ("0 11 96123 4567", "BR"), ("+54 9 11 1234 5678", None),
    ("011 15 1234 5678", "AR"), ("+52 1 55 1234 5678", None), ("+86 10 1234 5678", None),
    ("+81 3-1234-5678", None), ("+49 30 123456", None), ("+33 1 23 45 67 89", None), ("+61 2 1234 5678", None),
    ("+91 98765 43210", None), ("+234 802 123 4567", None), ("+971 50 123 4567", None),
    ("+1-212-555-0100;ext=77", None), ("+1 212 555 0100 #77", None), ("+12125550100/x12", None),
    ("+++1 212 555 0100", None), ("+1 212 555 0100\n", None), ("٠١٢٣٤٥٦٧٨٩", "EG"), ("+4", None),
    ("+44", None), ("0044", "DE"), ("00 44 2", "DE"), ("x" * 300, "US"),
]


@pytest.fixture(scope="module")
def ctx() -> Iterator[MiniRacer]:
    c = MiniRacer()
    c.eval(SHIM_SOURCE)
    yield c
    c.close()


def infos(ctx: MiniRacer, cases: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    answers = ctx.eval(f"JSON.stringify({json.dumps(cases)}.map(([n, c]) => PhoneNumber.getInfo(n, c)))")
    return list(json.loads(answers))


def test_every_region_and_type_matches_libphonenumber(ctx: MiniRacer) -> None:
    cases = list(dict.fromkeys(samples()))
    assert len(cases) > 4000
    mismatches = [(case, got, expected(*case)) for case, got in zip(cases, infos(ctx, cases), strict=True)
                  if got != expected(*case)]
    assert mismatches[:5] == []


@pytest.mark.parametrize(("number", "country"), ODD)
def test_odd_input_matches_libphonenumber(ctx: MiniRacer, number: str, country: str | None) -> None:
    assert infos(ctx, [(number, country)]) == [expected(number, country)]


def test_an_example_as_the_platform_documents_it(ctx: MiniRacer) -> None:
    [info] = infos(ctx, [("+7 (495) 937-02-02", None)])
    assert info == {"numberType": "FIXED_LINE", "region": "RU", "location": "Russia", "isPossibleNumber": True,
                    "isValidNumber": True, "isValidNumberForRegion": True, "number": "+74959370202"}


def test_bad_arguments_answer_an_error_and_never_throw(ctx: MiniRacer) -> None:
    got = json.loads(ctx.eval("JSON.stringify([PhoneNumber.getInfo(), PhoneNumber.getInfo(null, 'US'), "
                              "PhoneNumber.getInfo(2125550100, 'US'), PhoneNumber.getInfo({}, 'US')])"))
    assert [g.get("error") for g in got] == ["NOT_A_NUMBER", "NOT_A_NUMBER", None, "NOT_A_NUMBER"]
    assert got[2]["number"] == "+12125550100"


def test_the_metadata_global_is_gone(ctx: MiniRacer) -> None:
    assert ctx.eval("typeof __voxPhoneMetadata") == "undefined"


def test_the_generated_table_is_fresh() -> None:
    spec = importlib.util.spec_from_file_location("gen_phone_metadata", ROOT / "scripts" / "gen_phone_metadata.py")
    assert spec is not None and spec.loader is not None
    gen: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen
    spec.loader.exec_module(gen)
    assert gen.OUTPUT.read_text(encoding="utf-8") == gen.render(), "run python scripts/gen_phone_metadata.py"


async def test_a_scenario_reads_a_number(runtime: Runtime) -> None:
    session = await start(runtime, """
        VoxEngine.addEventListener(AppEvents.Started, () => {
          const info = PhoneNumber.getInfo('020 7946 0123', 'GB');
          Logger.write('info ' + JSON.stringify(info));
          VoxEngine.terminate();
        });
    """)
    await session.wait_finished(5)
    line = next(e for e in session.log.lines if "info {" in e)
    info = json.loads(line[line.index("info ") + 5:])
    assert info["number"] == "+442079460123" and info["region"] == "GB" and info["isValidNumber"] is True
