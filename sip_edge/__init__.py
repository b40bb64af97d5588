"""A SIP library: a sans-IO stack (RFC 3261) with asyncio transports and a user agent on top.

Sans-IO: message, uri, headers, transaction, dialog, auth, rtp (DTMF events) and sdp. Asyncio:
transport (UDP, TCP, TLS) and ua (`UserAgent`, `InviteDialog`). None of them imports voxsim, so
the package could be published alone; voxsim's SIP edge (`voxsim.edge`) is built on it.
"""
