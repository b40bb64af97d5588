// Looks the caller up in a CRM over HTTP before answering, then greets them by name.
// WEBHOOK_URL is a placeholder: point it at your own service.
const WEBHOOK_URL = 'https://crm.example.org/lookup';

VoxEngine.addEventListener(AppEvents.CallAlerting, async (e) => {
  const call = e.call;
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());

  const result = await Net.httpRequestAsync(WEBHOOK_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    postData: JSON.stringify({ callerid: e.callerid, destination: e.destination }),
    timeout: 5,
  });

  let name = 'friend';
  if (result.code === 200) {
    try {
      name = JSON.parse(result.text).name || name;
    } catch (err) {
      Logger.write(`CRM answered something that is not JSON: ${result.text}`);
    }
  } else {
    Logger.write(`CRM lookup failed: ${result.code} ${result.error || ''}`);
  }

  call.addEventListener(CallEvents.Connected, () => call.say(`Hello ${name}, thanks for calling.`));
  call.addEventListener(CallEvents.PlaybackFinished, () => call.hangup());
  call.answer();
});
