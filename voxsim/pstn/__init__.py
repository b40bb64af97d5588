"""The PSTN simulator: virtual phones that callPSTN reaches when no SIP gateway is configured (docs/pstn.md)."""

from voxsim.pstn.callerid import CallerIdCheck
from voxsim.pstn.numbers import PstnNumbers
from voxsim.pstn.settings import Behaviour, PstnSettings
from voxsim.pstn.simulator import PstnDialer, PstnLeg

__all__ = ["Behaviour", "CallerIdCheck", "PstnDialer", "PstnLeg", "PstnNumbers", "PstnSettings"]
