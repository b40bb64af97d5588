"""Runtime settings: the platform's documented limits and voxsim's choices (docs/choices.md).

Every value has a default that works on a laptop; tests shrink the timeouts and media
durations instead of waiting for real minutes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeSettings:
    # The platform gives each callback 1 s; a delivery that overruns ends its session.
    handler_timeout: float = 1.0
    # Top-level code of all the rule's scenarios; not a platform figure, generous on purpose.
    load_timeout: float = 5.0
    # The platform's JS heap is 16 MB, but V8 itself (code space, the shim, handles) needs
    # headroom on top, so the hard limit given to `set_hard_memory_limit` is larger.
    memory_limit: int = 64 * 1024 * 1024
    # ArrayBuffer contents live outside the heap: counted apart, at most this much (a FinalizationRegistry
    # gives back what the GC collected, a little after it collected it: hence the headroom).
    max_external_bytes: int = 256 * 1024 * 1024
    max_scenario_chars: int = 256 * 1024
    max_timers: int = 100
    # Isolates created ahead of need (with the shim already loaded).
    pool_size: int = 4
    # V8 runs some callbacks on its own, outside every handler's deadline (a FinalizationRegistry cleanup): an idle
    # session checks this often that its isolate is free, a check bounded by handler_timeout (0: never; not a
    # platform figure). An idle isolate answers it in ~0.1 ms.
    idle_check_interval: float = 5.0
    # A session ends this long after its last call ends (or after start when it never had one).
    session_idle_timeout: float = 60.0
    # An inbound call the scenario neither answers nor rejects is dropped after this long.
    alerting_timeout: float = 60.0
    # An outbound call not answered by then fails with 408.
    outbound_answer_timeout: float = 60.0
    # Live sessions at most (each holds a V8 isolate and a thread, ~1 MB), in all and per account (0: the same
    # as in all): beyond it inbound calls get 503 with Retry-After and StartScenarios error 340, so that a
    # flood or a scenario calling itself cannot exhaust the machine. Not a platform figure.
    max_sessions: int = 1000
    max_sessions_per_account: int = 0
    # The platform documents no cap; voxsim's, so that a runaway session still ends some day.
    max_session_duration: float = 4 * 3600.0
    # What each call sent and heard is kept for tests (/_voxsim/calls/<id>/heard): its first this many seconds.
    heard_capture_seconds: float = 60.0
    # What an ASR reports for speech that carries no text (an outside phone's audio): voice-activity detection finds
    # the utterance, this is its Result's text.
    asr_default_transcript: str = ""
    # A recogniser for that speech instead (voxsim/runtime/recognizer.py): a shell command that reads the utterance
    # as WAV on stdin and prints its text, or an HTTP endpoint that takes it as the multipart field `file` (a
    # whisper.cpp server's /inference); asr_timeout seconds each.
    asr_command: str = ""
    asr_endpoint: str = ""
    asr_timeout: float = 30.0
    # Net limits, as VoxEngine documents them (see docs/choices.md).
    http_max_concurrent: int = 3
    http_max_pending: int = 35
    http_connect_timeout: float = 6.0
    http_total_timeout: float = 90.0
    http_max_response_bytes: int = 2 * 1024 * 1024
    # How long an AppEvents.HttpRequest caller waits for the handler's (possibly async) reply.
    http_reply_timeout: float = 30.0
    # After Terminating, VoxEngine waits this long for pending HTTP requests.
    terminating_http_grace: float = 90.0
    # A session's log is truncated past this many bytes (one line says so); not a published platform figure.
    max_log_bytes: int = 4 * 1024 * 1024
    # Entries of events/commands kept in memory for inspection, and about this many bytes of each (long values
    # clipped, the oldest entries dropped: one HTTP result may carry 2 MB); finished sessions keep theirs too.
    max_journal: int = 10_000
    max_journal_bytes: int = 1024 * 1024
    # Events waiting for the scenario's handlers at most; past it the session ends (not a platform figure).
    max_queued_events: int = 10_000
