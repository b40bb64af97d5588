// Forwards every inbound call to the SIP URI it was dialed with (e.toURI), bridging the
// two legs with easyProcess. The session ends when either side hangs up or the call fails.
VoxEngine.forwardCallToSIP((inbound, outbound) => {
  Logger.write(`Bridged ${inbound.callerid()} with ${outbound.number()}`);
});
