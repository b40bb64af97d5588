// Dial 2xx: a one-level IVR. Press 1 for sales, 2 for support; anything else repeats the menu.
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  const menu = () => call.say('Press 1 for sales, 2 for support');
  call.answer();
  call.addEventListener(CallEvents.Connected, () => {
    call.handleTones(true);
    menu();
  });
  call.addEventListener(CallEvents.ToneReceived, (t) => {
    Logger.write(`tone ${t.tone}`);
    if (t.tone === '1') call.say('Connecting you to sales');
    else if (t.tone === '2') call.say('Connecting you to support');
    else menu();
  });
  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
});
