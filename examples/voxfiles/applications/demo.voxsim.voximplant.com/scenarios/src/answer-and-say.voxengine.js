// Dial 100@demo.voxsim.voximplant.com: the call is answered, hears a greeting and is hung up.
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  Logger.write(`call from ${e.callerid} to ${e.destination}`);
  e.call.answer();
  e.call.addEventListener(CallEvents.Connected, () => e.call.say('Hello from voxsim'));
  e.call.addEventListener(CallEvents.PlaybackFinished, () => e.call.hangup());
  e.call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
