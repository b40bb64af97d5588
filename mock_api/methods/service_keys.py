"""RoleSystem methods: CreateKey, GetKeys, UpdateKey, DeleteKey, SetKeyRoles, GetKeyRoles, RemoveKeyRoles,
GetRoles, GetRoleGroups.

A created key is a real RSA key pair: the reply is the credentials file (`account_email`, `account_id`,
`key_id`, `private_key`), and JWTs signed with it authenticate this API at once (voxsim/store/service_keys.py).
"""

from __future__ import annotations

from mock_api.methods import Context, Reply, method, ok, paged
from mock_api.params import Params
from voxsim.keys import new_service_account, public_key_of
from voxsim.store.service_keys import (
    INVALID_ROLE_ID,
    ROLE_GROUPS,
    Role,
    key_view,
    roles_by_id,
    roles_by_name,
    roles_in_group,
)

ROLES_NOTE = """
    Roles are the names the platform's method pages list (Owner, Admin, Developer, Supervisor, Accountant, Support,
    Verifier) with ids 1-7 and three groups of voxsim's own (GetRoles, GetRoleGroups); an unknown `role_id` answers
    440, an unknown `role_name` 441. voxsim records a key's roles but does not enforce them: every key can call
    every method (error 104 never comes).
"""
KEY_NOTE = "An unknown `key_id`, or another account's, answers 433."


def _roles(p: Params, *, required: bool) -> list[Role]:
    """`role_id` (a `;` list) or `role_name` (a `;` list), not both (458)."""
    which = p.one_of("role_id", "role_name", required=required)
    if which == "role_id":
        return roles_by_id(p.integers("role_id", required=True, code=INVALID_ROLE_ID))
    if which == "role_name":
        return roles_by_name(p.texts("role_name", required=True))
    return []


@method("CreateKey", notes=ROLES_NOTE + """
    Makes a 2048-bit RSA key pair and answers `result: [{account_email, account_id, key_id, private_key}]` (the
    credentials file; voxsim keeps only the public half). `key_name` (50 characters at most, 499 beyond) defaults
    to the key's id when it is not given; `description` is optional.
""")
def create_key(ctx: Context, p: Params) -> Reply:
    roles = _roles(p, required=False)
    account = ctx.account
    credentials = new_service_account(account.account_id, account.account_email)
    key_id = str(credentials["key_id"])
    private_key = str(credentials["private_key"])
    ctx.store.create_key(account.account_id, key_id, public_key_of(private_key),
                         key_name=p.text("key_name") or key_id, description=p.text("description") or "",
                         roles=roles)
    return {"result": [credentials]}


@method("GetKeys", notes=KEY_NOTE + """
    Lists the account's keys, oldest first (the key of `credentials.json` among them): `{key_id, key_name,
    description}`, with `roles` when `with_roles` is true. `count` 20 by default, `offset`; `total_count` and
    `count` come with the list. No key has a `subuser` (subusers are not emulated).
""")
def get_keys(ctx: Context, p: Params) -> Reply:
    account_id = ctx.account.account_id
    keys = ctx.store.list_keys(account_id, p.text("key_id"))
    with_roles = p.flag("with_roles", False)
    return paged(keys, p, lambda key: key_view(key, ctx.store.key_roles(account_id, key.key_id)
                                                if with_roles else None))


@method("UpdateKey", notes=KEY_NOTE + " `description` is required; `key_name` (50 characters at most) optional.")
def update_key(ctx: Context, p: Params) -> Reply:
    ctx.store.update_key(ctx.account.account_id, p.text("key_id", required=True),
                         description=p.text("description", required=True), key_name=p.text("key_name"))
    return ok()


@method("DeleteKey", notes=KEY_NOTE + """
    The key no longer authenticates (error 100). Deleting the key of `credentials.json` locks the official
    clients out until voxsim starts again and registers it anew.
""")
def delete_key(ctx: Context, p: Params) -> Reply:
    ctx.store.delete_key(ctx.account.account_id, p.text("key_id", required=True))
    return ok()


@method("SetKeyRoles", notes=KEY_NOTE + ROLES_NOTE + """
    The key's roles become the given ones (`role_id` or `role_name`, one of them required: 485): the platform
    does not say whether it adds or replaces; voxsim replaces, and RemoveKeyRoles takes roles away.
""")
def set_key_roles(ctx: Context, p: Params) -> Reply:
    key_id = p.text("key_id", required=True)
    ctx.store.set_key_roles(ctx.account.account_id, key_id, _roles(p, required=True))
    return ok()


@method("GetKeyRoles", notes=KEY_NOTE + """
    `result` is the key's roles `{role_id, role_name, gui_only}`; `with_expanded_roles` adds `inherited` (false:
    voxsim has no inherited roles), `child_ids` and `parent_role_id`.
""")
def get_key_roles(ctx: Context, p: Params) -> Reply:
    roles = ctx.store.key_roles(ctx.account.account_id, p.text("key_id", required=True))
    expanded = p.flag("with_expanded_roles", False)
    return {"result": [role.api(expanded=expanded) for role in roles]}


@method("RemoveKeyRoles", notes=KEY_NOTE + " A role the key does not have is no error.")
def remove_key_roles(ctx: Context, p: Params) -> Reply:
    key_id = p.text("key_id", required=True)
    ctx.store.remove_key_roles(ctx.account.account_id, key_id, _roles(p, required=True))
    return ok()


@method("GetRoles", notes=ROLES_NOTE + " `group_name` (a name of GetRoleGroups) lists that group's roles.")
def get_roles(ctx: Context, p: Params) -> Reply:
    return {"result": [role.api() for role in roles_in_group(p.text("group_name"))]}


@method("GetRoleGroups", notes="`result: [{id, name}]`: Administration, Development, Operations (voxsim's own).")
def get_role_groups(ctx: Context, p: Params) -> Reply:
    return {"result": [group.api() for group in ROLE_GROUPS]}
