// Answers an inbound call, greets the caller with TTS, and hangs up when the greeting ends.
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  Logger.write(`Incoming call from ${e.callerid} to ${e.destination}`);

  call.addEventListener(CallEvents.Connected, () => {
    call.say('Hello! You have reached the voxsim demo line. Goodbye.', {
      voice: VoiceList.Google.en_US_Neural2_C,
    });
  });
  call.addEventListener(CallEvents.PlaybackFinished, () => call.hangup());
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());

  call.answer();
});
