"""The platform's Management API methods: the 184 of the current official clients, by group.

The official clients (Node `@voximplant/apiclient-nodejs` 4.11.0 and Python `voximplant-apiclient` 2.12.0) send
the same 184 commands; the groups are the Node client's (`client.Applications.getApplications` sends
`GetApplications`), which the scenario-side `VoximplantApi.Client` follows too. The list tells "not emulated by
voxsim" (code 103 naming the method) from a truly unknown command, and is the denominator of docs/parity.md.
Both clients spell `LinkregulationAddress` so; method names match case-insensitively.
"""

OFFICIAL_GROUPS: dict[str, tuple[str, ...]] = {
    "Accounts": (
        "GetAccountInfo", "SetAccountInfo", "SetChildAccountInfo", "GetCurrencyRate", "GetResourcePrice",
        "GetSubscriptionPrice", "GetChildrenAccounts", "GetMoneyAmountToCharge", "ChangeAccountPlan",
        "GetAccountPlans", "GetAvailablePlans", "GetAccountDocuments", "GetAccountVerifications",
    ),
    "Applications": (
        "AddApplication", "DelApplication", "SetApplicationInfo", "GetApplications",
    ),
    "Users": (
        "AddUser", "DelUser", "SetUserInfo", "GetUsers",
    ),
    "CallLists": (
        "CreateCallList", "AppendToCallList", "CancelCallListBatch", "EditCallList", "EditCallListTasksPriority",
        "DeleteCallList", "GetCallLists", "GetCallListDetails", "EditCallListTask", "CancelCallListTask",
        "StopCallListProcessing", "RecoverCallList",
    ),
    "Scenarios": (
        "AddScenario", "DelScenario", "BindScenario", "GetScenarios", "SetScenarioInfo", "ReorderScenarios",
        "StartScenarios", "StartConference",
    ),
    "Rules": (
        "AddRule", "DelRule", "SetRuleInfo", "GetRules", "ReorderRules",
    ),
    "History": (
        "GetCallHistory", "GetCallHistoryAsync", "GetBriefCallHistory", "GetHistoryReports", "DownloadHistoryReport",
        "GetTransactionHistory", "GetTransactionHistoryAsync", "DeleteRecord", "GetACDHistory", "GetAuditLog",
        "GetAuditLogAsync",
    ),
    "PhoneNumbers": (
        "GetPhoneNumberReports", "AttachPhoneNumber", "BindPhoneNumberToApplication", "DeactivatePhoneNumber",
        "SetPhoneNumberInfo", "GetPhoneNumbers", "IsAccountPhoneNumber", "GetPhoneNumbersAsync",
        "GetNewPhoneNumbers", "GetPhoneNumberCategories", "GetPhoneNumberCountryStates", "GetPhoneNumberRegions",
        "GetActualPhoneNumberRegion", "GetAccountPhoneNumberCountries",
    ),
    "PSTNBlacklist": (
        "AddPstnBlackListItem", "SetPstnBlackListItem", "DelPstnBlackListItem", "GetPstnBlackList",
    ),
    "SIPWhiteList": (
        "AddSipWhiteListItem", "DelSipWhiteListItem", "SetSipWhiteListItem", "GetSipWhiteList",
    ),
    "SIPRegistration": (
        "CreateSipRegistration", "UpdateSipRegistration", "BindSipRegistration", "DeleteSipRegistration",
        "GetSipRegistrations",
    ),
    "WABPhoneNumbers": (
        "AddWABPhoneNumber", "DeleteWABPhoneNumber", "SetWABPhoneNumberInfo", "GetWABPhoneNumbers",
    ),
    "CallerIDs": (
        "DelCallerID", "GetCallerIDs",
    ),
    "OutboundTestNumbers": (
        "AddOutboundTestPhoneNumber", "VerifyOutboundTestPhoneNumber", "ActivateOutboundTestPhoneNumber",
        "DelOutboundTestPhoneNumber", "GetOutboundTestPhoneNumbers",
    ),
    "Queues": (
        "AddQueue", "BindUserToQueue", "DelQueue", "SetQueueInfo", "GetQueues", "GetACDState",
        "GetACDOperatorStatistics", "GetACDQueueStatistics", "GetACDOperatorStatusStatistics",
    ),
    "SmartQueue": (
        "GetSmartQueueRealtimeMetrics", "GetSmartQueueDayHistory", "RequestSmartQueueHistory", "GetSQState",
        "SQ_SetAgentCustomStatusMapping", "SQ_GetAgentCustomStatusMapping", "SQ_DeleteAgentCustomStatusMapping",
        "SQ_AddQueue", "SQ_SetQueueInfo", "SQ_DelQueue", "SQ_GetQueues", "SQ_AddSkill", "SQ_DelSkill",
        "SQ_SetSkillInfo", "SQ_BindSkill", "SQ_UnbindSkill", "SQ_GetSkills", "SQ_BindAgent", "SQ_UnbindAgent",
        "SQ_GetAgents", "SQ_SetAgentInfo",
    ),
    "Skills": (
        "AddSkill", "DelSkill", "SetSkillInfo", "GetSkills", "BindSkill",
    ),
    "AuthorizedIPs": (
        "AddAuthorizedAccountIP", "DelAuthorizedAccountIP", "GetAuthorizedAccountIPs", "CheckAuthorizedAccountIP",
    ),
    "RegulationAddress": (
        "LinkregulationAddress", "GetZIPCodes", "GetRegulationsAddress", "GetAvailableRegulations", "GetCountries",
        "GetRegions",
    ),
    "PushCredentials": (
        "AddPushCredential", "SetPushCredential", "DelPushCredential", "GetPushCredential", "BindPushCredential",
    ),
    "DialogflowCredentials": (
        "AddDialogflowKey", "SetDialogflowKey", "DelDialogflowKey", "GetDialogflowKeys", "BindDialogflowKeys",
    ),
    "SMS": (
        "SendSmsMessage", "A2PSendSms", "ControlSms", "GetSmsHistory", "A2PGetSmsHistory",
    ),
    "RecordStorages": (
        "GetRecordStorages",
    ),
    "RoleSystem": (
        "CreateKey", "GetKeys", "UpdateKey", "DeleteKey", "SetKeyRoles", "GetKeyRoles", "RemoveKeyRoles",
        "AddSubUser", "GetSubUsers", "SetSubUserInfo", "DelSubUser", "SetSubUserRoles", "GetSubUserRoles",
        "RemoveSubUserRoles", "GetRoles", "GetRoleGroups",
    ),
    "KeyValueStorage": (
        "SetKeyValueItem", "DelKeyValueItem", "GetKeyValueItem", "GetKeyValueItems", "GetKeyValueKeys",
    ),
    "Invoices": (
        "GetAccountInvoices", "DownloadInvoice",
    ),
    "Secrets": (
        "AddSecret", "DelSecret", "GetSecretValue", "GetSecrets", "SetSecretInfo",
    ),
}

OFFICIAL_METHODS: tuple[str, ...] = tuple(name for names in OFFICIAL_GROUPS.values() for name in names)
