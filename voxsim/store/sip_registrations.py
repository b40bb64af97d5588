"""Store family: sip_registrations (being written)."""

from __future__ import annotations

from voxsim.store.base import StoreBase

SCHEMA = ""


class SipRegistrationsMixin(StoreBase):
    pass
