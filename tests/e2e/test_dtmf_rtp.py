"""RFC 2833 DTMF end to end: SIPp calls a scenario, plays its telephone-event captures into the call's RTP port
(the port of voxsim's SDP answer), and the scenario hears "1" then "#" as `ToneReceived` type "1"."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sip_edge.transport import free_port_pair
from tests.e2e.test_sip_e2e import finished, logged, provision, sip_remote

pytestmark = pytest.mark.sipp

CAPTURES = Path("/usr/share/sip-tester")

LOG_TONES = r"""
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.addEventListener(CallEvents.Connected, () => e.call.handleTones(true));
  e.call.addEventListener(CallEvents.ToneReceived, (t) => Logger.write('tone ' + t.tone + ' type ' + t.type));
  e.call.addEventListener(CallEvents.Disconnected, (d) => {
    Logger.write('disconnected ' + d.internalCode + ' ' + d.reason);
    VoxEngine.terminate();
  });
  e.call.answer();
});
"""


def capture_payload_types(path: Path) -> set[int]:
    """The RTP payload types in a classic pcap of Ethernet/IPv4/UDP frames (SIPp's captures)."""
    data = path.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4 and struct.unpack_from("<I", data, 20)[0] == 1
    found, offset = set(), 24
    while offset + 16 <= len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        frame = data[offset + 16:offset + 16 + length]
        offset += 16 + length
        udp = 14 + (frame[14] & 0x0F) * 4
        found.add(frame[udp + 8 + 1] & 0x7F)
    return found


async def test_rfc2833_dtmf_from_sipp_reaches_tone_received(emulator, api, sipp) -> None:
    scenario = Path(__file__).parent / "sipp" / "uac_rtp_dtmf.xml"
    # the offer in the XML must name the captures' telephone-event payload type
    assert capture_payload_types(CAPTURES / "dtmf_2833_1.pcap") == {101}
    assert capture_payload_types(CAPTURES / "dtmf_2833_pound.pcap") == {101}
    assert "m=audio [media_port] RTP/AVP 0 101" in scenario.read_text()
    assert "a=rtpmap:101 telephone-event/8000" in scenario.read_text()

    app = await provision(api, LOG_TONES)
    result = await sipp.run("uac_rtp_dtmf.xml", "-s", "3003", "-mp", str(free_port_pair()),
                            remote=sip_remote(emulator),
                            keys={"domain": app["domain"], "to_uri": f"3003@{app['domain']}"})
    assert result.ok, result.stderr[-2000:]
    session, = await finished(emulator)
    assert logged(session, "tone ") == ["tone 1 type 1", "tone # type 1"]
    assert logged(session, "disconnected ") == ["disconnected 200 Normal call clearing"]
