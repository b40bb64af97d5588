"""The console in a real browser: headless Chromium from Debian's `chromium` package (no browser download),
driven by Playwright against an emulator on ephemeral ports. Each test asserts on the page's content as it
updates live, and keeps a screenshot in tmp_path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from voxsim.testing import TestPhone

CHROMIUM = "/usr/bin/chromium"
# As root (CI) Chromium needs --no-sandbox; the call's audio plays without a click on a real speaker.
ARGS = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio"]
WAIT_MS = 10_000

IVR = """
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => { e.call.handleTones(true); e.call.say('Welcome to the shop'); });
  e.call.addEventListener(CallEvents.ToneReceived, (t) => Logger.write('pressed ' + t.tone));
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
"""
BROKEN = "VoxEngine.addEventListener(AppEvents.Started, () => { throw new Error('boom'); });"


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    tab.set_default_timeout(WAIT_MS)
    yield tab
    await context.close()


async def shop(api: Any) -> dict[str, Any]:
    app_id = (await api("add_application", application_name="shop"))["application_id"]
    scenario = await api("add_scenario", scenario_name="ivr", application_id=app_id, scenario_script=IVR)
    await api("add_rule", application_id=app_id, rule_name="sales", rule_pattern=r"1\d\d", rule_pattern_exclude="199",
              scenario_id=scenario["scenario_id"])
    broken = await api("add_scenario", scenario_name="broken", application_id=app_id, scenario_script=BROKEN)
    rule = await api("add_rule", application_id=app_id, rule_name="broken", rule_pattern="9",
                     scenario_id=broken["scenario_id"])
    return {"application_id": app_id, "broken_rule": rule["rule_id"]}


async def screenshot(page: Page, path: Path) -> None:
    await page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 0


async def test_overview_route_tester_and_a_session_appearing_live(emulator, api, page, tmp_path):
    app = await shop(api)
    await page.goto(f"{emulator.listeners['api_http']['url']}/_voxsim/console")
    await expect(page.locator("#live")).to_have_text("live")
    application = page.locator("[data-application='shop.voxsim.voximplant.com']")
    await expect(application).to_contain_text("sales")
    await expect(application).to_contain_text(r"1\d\d")
    await expect(page.locator("body")).to_contain_text("127.0.0.0/8")

    await page.fill("#route-uri", "199@shop.voxsim.voximplant.com")
    await page.click("#route-form button")
    result = page.locator("#route-result")
    await expect(result).to_contain_text("excluded")
    await expect(result).to_contain_text("destination 199")
    await expect(result).to_contain_text("the edge answers 404")

    started = await api("start_scenarios", rule_id=app["broken_rule"])  # no reload: the feed brings it
    row = page.locator(f"tr[data-session='{started['call_session_history_id']}']")
    await expect(row).to_contain_text("JS session error")
    await expect(row).to_have_class("error")
    await screenshot(page, tmp_path / "overview.png")


async def test_a_call_from_the_browser_with_keys_speech_and_audio(emulator, api, page, tmp_path):
    await shop(api)
    await page.goto(f"{emulator.listeners['api_http']['url']}/_voxsim/console#/call")
    await expect(page.locator("#call-to")).to_have_value("100@shop.voxsim.voximplant.com")
    await page.fill("#call-to", "150@shop.voxsim.voximplant.com")
    await page.click("#call-button")
    await expect(page.locator("#call-status")).to_contain_text("running")
    await expect(page.locator("#audio-meter")).not_to_have_text("audio: 0.0 s")  # the greeting streams in
    await page.click("#keypad button[data-digit='7']")
    await expect(page.locator("#call-events")).to_contain_text("pressed 7")
    await page.fill("#say-text", "I would like a pizza")
    await page.click("#say-form button")
    await screenshot(page, tmp_path / "call.png")

    await page.click("#call-panel a[href^='#/sessions/']")
    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text("application shop.voxsim.voximplant.com, rule sales")
    await expect(timeline).to_contain_text("pressed 7")
    await expect(page.locator("body")).to_contain_text("Welcome to the shop")  # what the caller heard
    await expect(page.locator("body")).to_contain_text("I would like a pizza")  # what it said
    routing = timeline.locator(".entry[data-kind='routing']")
    await routing.click()
    await expect(routing.locator("pre")).to_contain_text(r"sales: /1\d\d/ except /199/ -> match")
    await screenshot(page, tmp_path / "session.png")


async def test_a_sip_call_shows_its_ladder_with_each_message_openable(emulator, api, page, tmp_path):
    await shop(api)
    phone = TestPhone(emulator, "alice")
    try:
        await phone.ua.start(udp=0, tcp=None)
        call = await phone.call("150", "shop")
        await asyncio.wait_for(call.bye(), 10)
    finally:
        await phone.stop()
    await page.goto(f"{emulator.listeners['api_http']['url']}/_voxsim/console#/sessions/1")
    timeline = page.locator("#timeline")
    invite = timeline.locator(".entry[data-kind='sip']", has_text="INVITE sip:150@shop.voxsim.voximplant.com")
    await expect(invite).to_contain_text("<- udp 127.0.0.1:")
    await expect(timeline.locator(".entry[data-kind='sip']", has_text="SIP/2.0 200 OK").first).to_be_visible()
    await expect(timeline.locator(".entry[data-kind='sip']", has_text="BYE sip:").first).to_be_visible()
    await invite.click()
    await expect(invite.locator("pre")).to_contain_text("Call-ID: ")
    await expect(invite.locator("pre")).to_contain_text("m=audio")
    await expect(page.locator("#session-state")).to_contain_text("finished")
    await screenshot(page, tmp_path / "ladder.png")
