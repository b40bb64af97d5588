"""First start and reset: the account, its service-account key and its SIP white list."""

from __future__ import annotations

import secrets

from voxsim.config import Settings
from voxsim.keys import StateFiles, load_credentials, new_service_account, public_key_of, write_credentials
from voxsim.model import Account
from voxsim.store import Store


def ensure_account(store: Store, files: StateFiles, settings: Settings) -> Account:
    """Create the account on first start; make sure credentials.json names a key the store knows."""
    accounts = store.list_accounts()
    if accounts:
        account = accounts[0]
    else:
        account = store.create_account(settings.account_id, settings.account_name, settings.account_email,
                                       api_key=secrets.token_hex(16))
        add_default_whitelist(store, account, settings)
    credentials = load_credentials(files.credentials)
    if credentials is None or int(str(credentials["account_id"])) != account.account_id:
        credentials = new_service_account(account.account_id, account.account_email)
        write_credentials(files.credentials, credentials)
    store.add_service_key(account.account_id, str(credentials["key_id"]),
                          public_key_of(str(credentials["private_key"])), key_name="voxsim")
    return account


INTERRUPTED = "Internal error (voxsim stopped before the session ended)"
"""The finish_reason of a session a crash or `kill -9` left unfinished (the platform's "Internal error (...)"
form; its own text for this case is unknown)."""


def recover(store: Store) -> int:
    """After an unclean stop: sessions left in progress are finished with `INTERRUPTED`; returns how many."""
    return store.finish_interrupted_sessions(INTERRUPTED)


def add_default_whitelist(store: Store, account: Account, settings: Settings) -> None:
    for network in settings.default_whitelist:
        store.add_whitelist_item(account.account_id, network, "voxsim default: loopback")


def reset(store: Store, settings: Settings) -> Account:
    """Back to the first-start account: every resource gone, account id, api_key and keys kept."""
    store.wipe_resources()
    account = store.list_accounts()[0]
    add_default_whitelist(store, account, settings)
    return account
