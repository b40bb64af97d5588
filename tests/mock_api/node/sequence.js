// One Management API sequence through the official Node client (@voximplant/apiclient-nodejs), as its
// README writes it: the client reads a service-account credentials file and posts every method to
// https://<host>/platform_api as multipart form-data with a `cmd` field.
//
// Usage: node sequence.js <credentials.json> <host:port>
// The emulator's certificate authority comes from NODE_EXTRA_CA_CERTS. Each step prints one line of JSON,
// {"step": <name>, "reply": <what the client resolved with>}; the last line is {"step": "done"}.
'use strict';
const http = require('http');
const axios = require('axios');
const VoximplantApiClient = require('@voximplant/apiclient-nodejs').default;

const [credentials, host] = process.argv.slice(2);

// The scenario answers the session's HTTP door; 'stop' ends the session so that its history is complete.
const SCENARIO = `
VoxEngine.addEventListener(AppEvents.Started, () => Logger.write('started ' + VoxEngine.customData()));
VoxEngine.addEventListener(AppEvents.HttpRequest, (e) => {
  if (e.content === 'stop') { VoxEngine.terminate(); return 'bye'; }
  return 'echo:' + e.content;
});
`;

// The client maps each reply onto its own structures and drops the fields they do not declare (an
// application's `rules`, say); the raw JSON of the last reply is kept beside it to show what was sent.
let lastRaw = null;
axios.interceptors.response.use((response) => {
  lastRaw = response.data;
  return response;
});

function report(step, reply) {
  console.log(JSON.stringify({ step, reply, raw: lastRaw }));
  lastRaw = null;
  return reply;
}

function post(url, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST' }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body: text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The history row exists from the session's start; its finish reason comes when the session has ended.
async function finishedHistory(client, callSessionHistoryId) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const reply = await client.History.getCallHistory({
      fromDate: new Date(Date.now() - 3600 * 1000), toDate: new Date(Date.now() + 3600 * 1000),
      callSessionHistoryId, withCalls: true,
    });
    if (reply.error || (reply.result.length && reply.result[0].finishReason)) return reply;
    await sleep(100);
  }
  throw new Error('the session did not finish');
}

async function sequence(client) {
  const app = report('AddApplication', await client.Applications.addApplication({
    applicationName: 'nodeshop', secureRecordStorage: true,
  }));
  const applicationId = app.applicationId;
  const scenario = report('AddScenario', await client.Scenarios.addScenario({
    scenarioName: 'node-remote', scenarioScript: SCENARIO, applicationId,
  }));
  const rule = report('AddRule', await client.Rules.addRule({
    applicationId, ruleName: 'node-rule', rulePattern: '.*', scenarioId: scenario.scenarioId,
  }));
  report('GetApplications', await client.Applications.getApplications({ applicationId, withRules: true }));
  const started = report('StartScenarios', await client.Scenarios.startScenarios({
    ruleId: rule.ruleId, scriptCustomData: 'from node',
  }));
  report('HttpRequest', await post(started.mediaSessionAccessUrl, 'hello'));
  report('Stop', await post(started.mediaSessionAccessUrl, 'stop'));
  report('GetCallHistory', await finishedHistory(client, started.callSessionHistoryId));
  report('SetKeyValueItem', await client.KeyValueStorage.setKeyValueItem({
    applicationId, key: 'node:greeting', value: 'hello from node', ttl: 600,
  }));
  report('GetKeyValueItem', await client.KeyValueStorage.getKeyValueItem({ applicationId, key: 'node:greeting' }));
  report('AddApplicationInvalid', await client.Applications.addApplication({ applicationName: 'Not A Name!' }));
  report('DelApplication', await client.Applications.delApplication({ applicationId }));
  report('GetApplicationsAfter', await client.Applications.getApplications({ applicationName: 'nodeshop' }));
}

const client = new VoximplantApiClient({ pathToCredentials: credentials, host });
client.onReady = (ready) => {
  sequence(ready).then(
    () => report('done', null),
    (error) => {
      report('failed', { message: String(error && error.message), data: error && error.response && error.response.data });
      process.exitCode = 1;
    }
  );
};
