"""Domain errors that carry Voximplant Management API error codes.

The store and the model raise these; `mock_api` turns them into the platform's
`{"error": {"code", "msg"}}` envelope. Codes and messages follow the official list.
"""

from __future__ import annotations


class VoxError(Exception):
    """A request the platform would refuse, with its Voximplant error code."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg

    def __repr__(self) -> str:
        return f"VoxError({self.code}, {self.msg!r})"


# Codes used across the emulator (names follow APIErrorCode of the official Node client).
AUTHORIZATION_FAILED = 100
INVALID_ARGUMENTS = 101
MISSING_CMD = 102
UNKNOWN_COMMAND = 103
INVALID_APPLICATION_NAME = 107
INVALID_ACCOUNT_ID = 115
INVALID_APPLICATION_ID = 116
INVALID_USER_ID = 117
USER_NAME_NOT_UNIQUE = 118
USER_NAME_RESTRICTIONS = 122
APPLICATION_NAME_NOT_UNIQUE = 129
SCRIPT_TOO_LONG = 130
INVALID_SCENARIO_ID = 132
SCENARIO_NAME_NOT_UNIQUE = 133
REQUIRED_PARAMETER_EMPTY = 134
INVALID_RULE_ID = 147
INVALID_RULE_PATTERN = 148
INVALID_RULE_PATTERN_EXCLUDE = 149
INVALID_CALL_SESSION_HISTORY_ID = 150
INVALID_RULE_NAME = 156
INVALID_USER_DISPLAY_NAME = 157
INVALID_SCENARIO_NAME = 168
INVALID_SIP_WHITELIST_ID = 169
INVALID_SIP_WHITELIST_NETWORK = 170
SIP_WHITELIST_LIMIT = 172
RULE_NAME_NOT_UNIQUE = 175
INVALID_REFERENCE_IP = 257
INVALID_CONFERENCE_NAME = 269
RATE_LIMIT_EXCEEDED = 340
CONFERENCE_NAME_TOO_LONG = 270
SIP_REGISTRATION_LIMIT = 272
INVALID_SIP_USERNAME = 273
INVALID_SIP_PROXY = 274
INVALID_SIP_REGISTRATION_ID = 275
NO_SCENARIO_BOUND = 375
USER_NOT_BOUND = 393
INVALID_CALLBACK_URL = 398
CALLBACK_SALT_TOO_LONG = 399
JWT_INVALID_FORMAT = 447
JWT_TTL_TOO_LONG = 454
JWT_ISSUED_IN_FUTURE = 455
JWT_EXPIRED = 456
ONLY_ONE_OF = 458
INVALID_NEW_USER_NAME = 462
PASSWORD_EMPTY = 463
PASSWORD_MISSING_CHARACTERS = 464
SPECIFY_PARAMETER = 485
NOT_UNIQUE = 493
INVALID_PARAMETER = 496
PARAMETER_TOO_LONG = 499
PASSWORD_TOO_WEAK = 523
PASSWORD_HAS_SPACES = 524
APPLICATION_NOT_FOUND = 558


def specify(name: str) -> VoxError:
    return VoxError(SPECIFY_PARAMETER, f"Specify the '{name}' parameter")


def invalid(name: str, code: int = INVALID_PARAMETER) -> VoxError:
    return VoxError(code, f"The '{name}' parameter is invalid")


def only_one_of(*names: str) -> VoxError:
    return VoxError(ONLY_ONE_OF, "Specify only one of the following parameters: " + ", ".join(names))


def not_unique(name: str, code: int = NOT_UNIQUE) -> VoxError:
    return VoxError(code, f"The '{name}' is not unique")


def too_long(name: str, limit: int) -> VoxError:
    return VoxError(PARAMETER_TOO_LONG, f"The '{name}' parameter length must be less than {limit}")
