// A small IVR: a menu read with TTS, DTMF to choose, a timeout that repeats the menu.
const MENU = 'Press 1 for sales, 2 for support, or 0 to hear this again.';
const CHOICES = {
  1: 'Connecting you to sales.',
  2: 'Connecting you to support.',
};

VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  const call = e.call;
  let noInput = null;

  function menu() {
    call.say(MENU);
  }

  call.addEventListener(CallEvents.Connected, () => {
    call.handleTones(true);
    menu();
  });

  // Repeat the menu if the caller stays silent for 5 s after it ends.
  call.addEventListener(CallEvents.PlaybackFinished, () => {
    noInput = setTimeout(menu, 5000);
  });

  call.addEventListener(CallEvents.ToneReceived, (ev) => {
    clearTimeout(noInput);
    call.stopPlayback();
    Logger.write(`IVR choice: ${ev.tone}`);
    if (ev.tone === '0') {
      menu();
    } else if (CHOICES[ev.tone]) {
      call.say(CHOICES[ev.tone]);
      call.addEventListener(CallEvents.PlaybackFinished, () => call.hangup());
    } else {
      call.say('Sorry, that is not an option.');
    }
  });

  call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
  call.answer();
});
