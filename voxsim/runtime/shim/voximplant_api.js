/*
 * voxsim: the VoximplantAPI module (require(Modules.VoximplantAPI); new VoximplantApi.Client()), the Management
 * API from a scenario. Both spellings of the namespace (VoximplantAPI, as typed; VoximplantApi, as documented).
 *
 * A Client has the method groups of the official Node client (client.Applications.getApplications({...})), each
 * method a promise of the response. Requests go to this emulator's own Management API, on the port it listens on
 * (the host and port of the session's media_session_access_url), through Net's HTTP, authenticated as the
 * session: the API answers only when a service-account key is bound to the session's rule (bind_key_id), and acts
 * as its account (mock_api/scenario_api.py). Names travel as the Node client maps them: camelCase requests become
 * the API's snake_case parameters, and the snake_case reply comes back camelCase; API errors resolve as
 * {error: {code, msg}}, as the typings' responses say. An extension file of the shim (voxsim/runtime/shim/).
 */
(function (global, kit) {
  'use strict';

  // Group -> methods; a method sends the command of its name with a capital first letter (getApplications ->
  // GetApplications). The Node client's groups, and the typings' (AdminUsers, AdminRoles, CallerIDs' add/verify).
  const GROUPS = {
    Accounts: 'getAccountInfo setAccountInfo setChildAccountInfo getCurrencyRate getResourcePrice ' +
      'getSubscriptionPrice getChildrenAccounts getMoneyAmountToCharge changeAccountPlan getAccountPlans ' +
      'getAvailablePlans getAccountDocuments getAccountVerifications',
    Applications: 'addApplication delApplication setApplicationInfo getApplications',
    Users: 'addUser delUser setUserInfo getUsers',
    CallLists: 'createCallList appendToCallList cancelCallListBatch editCallList editCallListTasksPriority ' +
      'deleteCallList getCallLists getCallListDetails editCallListTask cancelCallListTask stopCallListProcessing ' +
      'recoverCallList',
    Scenarios: 'addScenario delScenario bindScenario getScenarios setScenarioInfo reorderScenarios startScenarios ' +
      'startConference',
    Rules: 'addRule delRule setRuleInfo getRules reorderRules',
    History: 'getCallHistory getCallHistoryAsync getBriefCallHistory getHistoryReports downloadHistoryReport ' +
      'getTransactionHistory getTransactionHistoryAsync deleteRecord getACDHistory getAuditLog getAuditLogAsync',
    PhoneNumbers: 'getPhoneNumberReports attachPhoneNumber bindPhoneNumberToApplication deactivatePhoneNumber ' +
      'setPhoneNumberInfo getPhoneNumbers isAccountPhoneNumber getPhoneNumbersAsync getNewPhoneNumbers ' +
      'getPhoneNumberCategories getPhoneNumberCountryStates getPhoneNumberRegions getActualPhoneNumberRegion ' +
      'getAccountPhoneNumberCountries',
    PSTNBlacklist: 'addPstnBlackListItem setPstnBlackListItem delPstnBlackListItem getPstnBlackList',
    SIPWhiteList: 'addSipWhiteListItem delSipWhiteListItem setSipWhiteListItem getSipWhiteList',
    SIPRegistration: 'createSipRegistration updateSipRegistration bindSipRegistration deleteSipRegistration ' +
      'getSipRegistrations',
    WABPhoneNumbers: 'addWABPhoneNumber deleteWABPhoneNumber setWABPhoneNumberInfo getWABPhoneNumbers',
    CallerIDs: 'delCallerID getCallerIDs addCallerID activateCallerID verifyCallerID',
    OutboundTestNumbers: 'addOutboundTestPhoneNumber verifyOutboundTestPhoneNumber activateOutboundTestPhoneNumber ' +
      'delOutboundTestPhoneNumber getOutboundTestPhoneNumbers',
    Queues: 'addQueue bindUserToQueue delQueue setQueueInfo getQueues getACDState getACDOperatorStatistics ' +
      'getACDQueueStatistics getACDOperatorStatusStatistics',
    SmartQueue: 'getSmartQueueRealtimeMetrics getSmartQueueDayHistory requestSmartQueueHistory getSQState ' +
      'sQ_SetAgentCustomStatusMapping sQ_GetAgentCustomStatusMapping sQ_DeleteAgentCustomStatusMapping sQ_AddQueue ' +
      'sQ_SetQueueInfo sQ_DelQueue sQ_GetQueues sQ_AddSkill sQ_DelSkill sQ_SetSkillInfo sQ_BindSkill ' +
      'sQ_UnbindSkill sQ_GetSkills sQ_BindAgent sQ_UnbindAgent sQ_GetAgents sQ_SetAgentInfo',
    Skills: 'addSkill delSkill setSkillInfo getSkills bindSkill',
    AuthorizedIPs: 'addAuthorizedAccountIP delAuthorizedAccountIP getAuthorizedAccountIPs checkAuthorizedAccountIP',
    RegulationAddress: 'linkregulationAddress getZIPCodes getRegulationsAddress getAvailableRegulations ' +
      'getCountries getRegions',
    PushCredentials: 'addPushCredential setPushCredential delPushCredential getPushCredential bindPushCredential',
    DialogflowCredentials: 'addDialogflowKey setDialogflowKey delDialogflowKey getDialogflowKeys ' +
      'bindDialogflowKeys',
    SMS: 'sendSmsMessage a2PSendSms controlSms getSmsHistory a2PGetSmsHistory',
    RecordStorages: 'getRecordStorages',
    RoleSystem: 'createKey getKeys updateKey deleteKey setKeyRoles getKeyRoles removeKeyRoles addSubUser ' +
      'getSubUsers setSubUserInfo delSubUser setSubUserRoles getSubUserRoles removeSubUserRoles getRoles ' +
      'getRoleGroups',
    KeyValueStorage: 'setKeyValueItem delKeyValueItem getKeyValueItem getKeyValueItems getKeyValueKeys',
    Invoices: 'getAccountInvoices downloadInvoice',
    Secrets: 'addSecret delSecret getSecretValue getSecrets setSecretInfo',
    AdminUsers: 'addAdminUser delAdminUser setAdminUserInfo getAdminUsers attachAdminRole',
    AdminRoles: 'addAdminRole delAdminRole setAdminRoleInfo getAdminRoles',
  };

  const ACCESS_HEADER = 'X-Voxsim-Session-Access';
  let access = null;  // {base, token}: from AppEvents.Started's accessURL

  function remember(e) {
    const url = String((e && e.accessURL) || '');
    const at = url.indexOf('/request/');
    if (at > 0) access = { base: url.slice(0, at), token: url.slice(at + '/request/'.length) };
  }

  const snake = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
  const camel = (name) => name.replace(/_([a-z0-9])/g, (m, c) => c.toUpperCase());

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  // A request value as the API reads it: booleans true/false, lists joined by ';', dates 'YYYY-MM-DD HH:mm:ss'
  // (UTC), objects as JSON.
  function wire(value) {
    if (value instanceof Date) {
      return value.getUTCFullYear() + '-' + pad(value.getUTCMonth() + 1) + '-' + pad(value.getUTCDate()) + ' ' +
        pad(value.getUTCHours()) + ':' + pad(value.getUTCMinutes()) + ':' + pad(value.getUTCSeconds());
    }
    if (Array.isArray(value)) return value.map(wire).join(';');
    if (kit.isObject(value)) return JSON.stringify(value);
    return String(value);
  }

  function form(request) {
    const parts = [];
    for (const key of Object.keys(kit.isObject(request) ? request : {})) {
      const value = request[key];
      if (value === undefined || value === null) continue;
      parts.push(encodeURIComponent(snake(key)) + '=' + encodeURIComponent(wire(value)));
    }
    return parts.join('&');
  }

  function camelCased(value) {
    if (Array.isArray(value)) return value.map(camelCased);
    if (!kit.isObject(value)) return value;
    const out = {};
    for (const key of Object.keys(value)) out[camel(key)] = camelCased(value[key]);
    return out;
  }

  function call(command, request) {
    if (access === null) {
      return kit.NativePromise.reject(new Error('VoximplantApi: the session has no API address yet ' +
        '(requests can be made from AppEvents.Started on)'));
    }
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    headers[ACCESS_HEADER] = access.token;
    return global.Net.httpRequestAsync(access.base + '/platform_api/' + command,
      { method: 'POST', headers: headers, postData: form(request) }).then((result) => {
      if (result.code !== 200) {
        throw new Error('VoximplantApi: ' + command + ' failed: HTTP ' + result.code + ' ' + (result.error || ''));
      }
      return camelCased(JSON.parse(result.text));
    });
  }

  function Client() {
    if (!(this instanceof Client)) return new Client();
    for (const group of Object.keys(GROUPS)) {
      const methods = {};
      for (const name of GROUPS[group].split(' ')) {
        const command = name.charAt(0).toUpperCase() + name.slice(1);
        methods[name] = (request) => call(command, request);
      }
      this[group] = Object.freeze(methods);
    }
  }

  const VoximplantAPI = Object.freeze({ Client });

  function install(g) {
    g.VoximplantAPI = VoximplantAPI;
    g.VoximplantApi = VoximplantAPI;
  }

  global.VoxEngine.addEventListener(global.AppEvents.Started, remember);
  kit.defineModule(global.Modules.VoximplantAPI, install);  // as on the platform, require() defines the names
})(globalThis, globalThis.__voxKit);
