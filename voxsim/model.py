"""The emulator's domain objects (pydantic v2).

Field names are the platform's own (`rule_pattern`, `sip_whitelist_network`, ...). Each model's
`api()` gives the record as the Management API returns it: timestamps as `YYYY-MM-DD HH:MM:SS`
UTC and dates as `YYYY-MM-DD`, because the official Python client strptimes exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from voxsim.patterns import PatternTimeout, full_match

DOMAIN_SUFFIX = "voximplant.com"


class Record(BaseModel):
    model_config = ConfigDict(frozen=False, extra="ignore")


class Account(Record):
    account_id: int
    account_name: str
    account_email: str
    api_key: str
    created: str
    active: bool = True
    frozen: bool = False
    balance: float = 0.0
    currency: str = "USD"
    language_code: str = "en"
    location: str = "Etc/GMT"
    account_first_name: str = ""
    account_last_name: str = ""
    account_custom_data: str = ""
    callback_url: str = ""
    callback_salt: str = ""
    send_js_error: bool = False
    min_balance_to_notify: float = 0.0
    account_notifications: bool = True
    tariff_changing_notifications: bool = True
    news_notifications: bool = False

    @property
    def domain(self) -> str:
        """The account's SIP domain: `<account>.voximplant.com`."""
        return f"{self.account_name}.{DOMAIN_SUFFIX}"

    def api(self, *, with_api_key: bool = True) -> dict[str, Any]:
        info = self.model_dump(exclude={"api_key"})
        if not info["callback_url"]:
            info.pop("callback_url")
        if not info["callback_salt"]:
            info.pop("callback_salt")
        if with_api_key:
            info["api_key"] = self.api_key
        return info


class ServiceAccountKey(Record):
    key_id: str
    account_id: int
    public_key: str
    key_name: str = ""
    description: str = ""
    created: str = ""


class Application(Record):
    application_id: int
    account_id: int
    name: str
    """The short name; the platform shows the full one (see `application_name`)."""
    account_name: str
    secure_record_storage: bool = False
    modified: str

    @property
    def application_name(self) -> str:
        return f"{self.name}.{self.account_name}.{DOMAIN_SUFFIX}"

    @property
    def domain(self) -> str:
        """The application's SIP domain (the same text as the full name): `<app>.<account>.voximplant.com`."""
        return self.application_name

    def api(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "application_name": self.application_name,
            "modified": self.modified,
            "secure_record_storage": self.secure_record_storage,
        }


class User(Record):
    user_id: int
    account_id: int
    application_id: int
    user_name: str
    user_display_name: str
    user_password: str
    user_active: bool = True
    parent_accounting: bool = False
    user_custom_data: str = ""
    created: str
    modified: str

    def api(self, applications: list[Application] | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {
            "user_id": self.user_id,
            "user_name": self.user_name,
            "user_display_name": self.user_display_name,
            "user_active": self.user_active,
            "parent_accounting": self.parent_accounting,
            "live_balance": 0.0,
            "balance": 0.0,
            "fixed_balance": 0.0,
            "created": self.created,
            "modified": self.modified,
        }
        if self.user_custom_data:
            info["user_custom_data"] = self.user_custom_data
        if applications is not None:
            info["applications"] = [app.api() for app in applications]
        return info


class Scenario(Record):
    scenario_id: int
    account_id: int
    application_id: int | None = None
    """None: the account's shared folder, visible to every application."""
    scenario_name: str
    scenario_script: str = ""
    modified: str

    def api(self, *, with_script: bool = False) -> dict[str, Any]:
        info: dict[str, Any] = {
            "scenario_id": self.scenario_id,
            "scenario_name": self.scenario_name,
            "modified": self.modified,
            "parent": False,
        }
        if with_script:
            info["scenario_script"] = self.scenario_script
        return info


class Rule(Record):
    rule_id: int
    application_id: int
    rule_name: str
    rule_pattern: str
    rule_pattern_exclude: str = ""
    video_conference: bool = False
    bind_key_id: str = ""
    position: int = 0
    modified: str
    scenario_ids: list[int] = []
    """The bound scenarios in the order they run."""

    def matches(self, destination: str) -> bool:
        """Whether this rule routes `destination`: the pattern matches the whole string, the exclude does not
        (a pattern too slow to match in `voxsim.patterns.MATCH_TIMEOUT` counts as no match)."""
        try:
            if not full_match(self.rule_pattern, destination):
                return False
            return not (self.rule_pattern_exclude and full_match(self.rule_pattern_exclude, destination))
        except PatternTimeout:
            return False

    def api(self, scenarios: list[Scenario] | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {
            "rule_id": self.rule_id,
            "application_id": self.application_id,
            "rule_name": self.rule_name,
            "rule_pattern": self.rule_pattern,
            "video_conference": self.video_conference,
            "modified": self.modified,
        }
        if self.rule_pattern_exclude:
            info["rule_pattern_exclude"] = self.rule_pattern_exclude
        if scenarios is not None:
            info["scenarios"] = [s.api() for s in scenarios]
        return info


class WhiteListItem(Record):
    sip_whitelist_id: int
    account_id: int
    sip_whitelist_network: str
    description: str = ""

    def api(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "sip_whitelist_id": self.sip_whitelist_id,
            "sip_whitelist_network": self.sip_whitelist_network,
        }
        if self.description:
            info["description"] = self.description
        return info


@dataclass
class Binding:
    """What a SIP registration is bound to (ids checked, names as they were when bound)."""

    application_id: int | None = None
    application_name: str = ""
    rule_id: int | None = None
    rule_name: str = ""
    user_id: int | None = None
    user_name: str = ""


BINDING_FIELDS = ("application_id", "application_name", "rule_id", "rule_name", "user_id", "user_name")


class SipRegistration(Record):
    sip_registration_id: int
    account_id: int
    sip_username: str
    proxy: str
    auth_user: str = ""
    outbound_proxy: str = ""
    password: str = ""
    is_persistent: bool = True
    deactivated: bool = False
    binding: Binding = Field(default_factory=Binding)
    # What the SIP side last saw; until it registers, the record says so truthfully.
    successful: bool = False
    in_progress: bool = False
    status_code: int | None = None
    error_message: str = ""
    last_updated: int = 0
    purchase_date: str
    next_subscription_renewal: str
    subscription_price: str = "0.0000"

    def api(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "sip_registration_id": self.sip_registration_id,
            "sip_username": self.sip_username,
            "proxy": self.proxy,
            "last_updated": self.last_updated,
            "successful": self.successful,
            "in_progress": self.in_progress,
            "deactivated": self.deactivated,
            "is_persistent": self.is_persistent,
            "purchase_date": self.purchase_date,
            "next_subscription_renewal": self.next_subscription_renewal,
            "subscription_price": self.subscription_price,
        }
        if self.auth_user:
            info["auth_user"] = self.auth_user
        if self.outbound_proxy:
            info["outbound_proxy"] = self.outbound_proxy
        if self.status_code is not None:
            info["status_code"] = self.status_code
        if self.error_message:
            info["error_message"] = self.error_message
        for key in ("application_id", "rule_id", "user_id"):
            if getattr(self.binding, key) is not None:
                info[key] = getattr(self.binding, key)
        for key in ("application_name", "rule_name", "user_name"):
            if getattr(self.binding, key):
                info[key] = getattr(self.binding, key)
        return info


class MediaRecord(Record):
    """A recording a session made (GetCallHistory `records`, RecordType)."""

    record_id: int
    call_session_history_id: int
    record_name: str
    start_time: str
    duration: int
    record_url: str
    file_size: int

    def api(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "record_name": self.record_name, "cost": 0.0,
                "start_time": self.start_time, "duration": self.duration, "record_url": self.record_url,
                "transaction_id": self.record_id, "file_size": self.file_size,
                "transcription_status": "Not required"}


class CallRecord(Record):
    call_id: int
    call_session_history_id: int
    start_time: str
    duration: int | None = None
    local_number: str = ""
    remote_number: str = ""
    remote_number_type: str = "sip"
    incoming: bool = True
    successful: bool = False
    media_server_address: str = "127.0.0.1"
    custom_data: str = ""
    end_code: int | None = None
    end_description: str = ""

    def api(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "call_id": self.call_id,
            "start_time": self.start_time,
            "local_number": self.local_number,
            "remote_number": self.remote_number,
            "remote_number_type": self.remote_number_type,
            "incoming": self.incoming,
            "successful": self.successful,
            "transaction_id": self.call_id,
            "media_server_address": self.media_server_address,
            "cost": 0.0,
        }
        if self.duration is not None:
            info["duration"] = self.duration
        if self.custom_data:
            info["custom_data"] = self.custom_data
        if self.end_code is not None:
            info["end_reason"] = {"code": self.end_code, "description": self.end_description}
        return info


class CallSession(Record):
    call_session_history_id: int
    account_id: int
    application_id: int
    application_name: str = ""
    rule_id: int | None = None
    rule_name: str = ""
    user_id: int | None = None
    start_date: str
    duration: int | None = None
    initiator_address: str = "127.0.0.1"
    media_server_address: str = "127.0.0.1"
    finish_reason: str = ""
    custom_data: str = ""
    finished: bool = False

    def api(self, *, log_file_url: str, calls: list[CallRecord] | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {
            "call_session_history_id": self.call_session_history_id,
            "account_id": self.account_id,
            "application_id": self.application_id,
            "application_name": self.application_name,
            "rule_name": self.rule_name,
            "start_date": self.start_date,
            "initiator_address": self.initiator_address,
            "media_server_address": self.media_server_address,
            "log_file_url": log_file_url,
            "audio_quality": "Standard",
        }
        if self.user_id is not None:
            info["user_id"] = self.user_id
        if self.duration is not None:
            info["duration"] = self.duration
        if self.finish_reason:
            info["finish_reason"] = self.finish_reason
        if self.custom_data:
            info["custom_data"] = self.custom_data
        if calls is not None:
            info["calls"] = [c.api() for c in calls]
        return info


class KeyValueItem(Record):
    """A pair of an application's key-value storage (the KeyValueStorage API; `ApplicationStorage` in scenarios)."""

    application_id: int
    key: str
    value: str
    expires_at: int
    """UNIX seconds; the pair is gone from then on."""

    def api(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "expires_at": self.expires_at}
