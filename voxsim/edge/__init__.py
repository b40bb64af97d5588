"""voxsim's SIP door: the listeners (`server`), who is calling and where the call goes (`router`), the
call legs (`legs`) and their RTP ports (`media_port`), the outbound dialer (`dialer`), users registering
to us (`user_registrar`) and our registrations elsewhere (`outbound_registrations`). See
docs/architecture.md.
"""
