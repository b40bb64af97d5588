"""A sans-IO SIP stack (RFC 3261) and voxsim's SIP edge.

The protocol modules (message, uri, headers, transaction, auth, dialog) import nothing
of voxsim: they form a SIP library that could be published alone.
"""
