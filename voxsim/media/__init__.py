"""voxsim's media: one clock for every call's RTP, and the G.711 codecs. See docs/architecture.md."""
