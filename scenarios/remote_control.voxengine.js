// A session started with StartScenarios that answers HTTP requests sent to its
// media_session_access_url: GET returns its state, POST {"action": "stop"} ends it.
const started = Date.now();
let requests = 0;

VoxEngine.addEventListener(AppEvents.Started, (e) => {
  Logger.write(`Started session ${e.sessionId}, custom data: ${VoxEngine.customData()}`);
});

VoxEngine.addEventListener(AppEvents.HttpRequest, (e) => {
  requests += 1;
  if (e.method === 'POST') {
    const body = JSON.parse(e.content || '{}');
    if (body.action === 'stop') {
      VoxEngine.terminate();
      return { stopping: true };
    }
  }
  return { requests: requests, uptimeMs: Date.now() - started, customData: VoxEngine.customData() };
});
