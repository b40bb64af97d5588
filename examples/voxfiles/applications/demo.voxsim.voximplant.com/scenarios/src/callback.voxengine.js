// Started by StartScenarios with script_custom_data {"number": "1001", "callerid": "+15557654321"}:
// calls the number over SIP and logs how it went.
VoxEngine.addEventListener(AppEvents.Started, () => {
  const data = JSON.parse(VoxEngine.customData() || '{}');
  if (!data.number) {
    Logger.write('no number in custom data');
    VoxEngine.terminate();
    return;
  }
  const call = VoxEngine.callSIP(`sip:${data.number}@127.0.0.1:5070`, { callerid: data.callerid || 'voxsim' });
  call.addEventListener(CallEvents.Connected, () => call.say('This is your callback'));
  call.addEventListener(CallEvents.PlaybackFinished, () => call.hangup());
  call.addEventListener(CallEvents.Failed, (f) => { Logger.write(`failed ${f.code} ${f.reason}`); VoxEngine.terminate(); });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
