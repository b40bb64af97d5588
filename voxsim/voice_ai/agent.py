"""The scripted agent's conversation, vendor-neutral and sans-IO: given what happened, the actions to take.

The connector (`connector.py`) tells the agent what happened — the conversation starts, the caller said
something, the scenario injected text, nobody spoke for a while — and carries out the actions it answers with
in the vendor's own events. Turns are tried in script order; a turn fires once unless it repeats; with no
match the fallback line is said. Text the scenario injects is tried against `dtmf` turns, then `text` turns,
then `said` turns (injected user text is something the user said, for a script author).
"""

from __future__ import annotations

import re

from voxsim.voice_ai.script import Action, AgentScript, Turn

__all__ = ["ScriptedAgent", "digits_of"]

_DIGITS = re.compile(r"^(?:(?:dtmf|digit|digits|pressed|key)\s*[:=]?\s*)?([0-9*#A-D]+)$", re.IGNORECASE)


def digits_of(text: str) -> str | None:
    """The digits a text stands for ("1", "DTMF 1", "pressed: 12#"), or None."""
    found = _DIGITS.match(text.strip())
    return found.group(1).upper() if found else None


class ScriptedAgent:
    def __init__(self, script: AgentScript) -> None:
        self.script = script
        self._used: set[int] = set()
        self._silence_fired: set[int] = set()  # silence turns fired in the current quiet spell
        self.last_result = ""  # what the scenario answered the latest tool call

    def _fire(self, index: int, turn: Turn) -> list[Action]:
        if not turn.repeat:
            self._used.add(index)
        return list(turn.actions)

    def _first(self, kinds: tuple[str, ...], text: str) -> list[Action] | None:
        for index, turn in enumerate(self.script.turns):
            if index in self._used or turn.trigger not in kinds:
                continue
            if turn.trigger == "dtmf":
                if digits_of(text) == turn.digits:
                    return self._fire(index, turn)
            elif turn.pattern is not None and turn.pattern.search(text):
                return self._fire(index, turn)
        return None

    def _fallback(self) -> list[Action]:
        return [Action("say", text=self.script.fallback)] if self.script.fallback else []

    def start(self) -> list[Action]:
        """The conversation starts: the greeting, then every `start` turn."""
        actions = [Action("say", text=self.script.greeting)] if self.script.greeting else []
        for index, turn in enumerate(self.script.turns):
            if turn.trigger == "start" and index not in self._used:
                actions.extend(self._fire(index, turn))
        return actions

    def heard(self, text: str) -> list[Action]:
        """The caller said `text` ("" when voxsim heard speech but knows no text)."""
        self._silence_fired.clear()
        found = self._first(("said",), text)
        return found if found is not None else self._fallback()

    def injected(self, text: str) -> list[Action]:
        """The scenario sent the agent `text` as the user's (userMessage, conversationItemCreate, ...)."""
        self._silence_fired.clear()
        for kinds in (("dtmf",), ("text",), ("said",)):
            found = self._first(kinds, text)
            if found is not None:
                return found
        return self._fallback()

    def quiet(self, seconds: float) -> list[Action]:
        """Nobody has spoken for `seconds` since the agent finished: the silence turns now due (each once a spell)."""
        for index, turn in enumerate(self.script.turns):
            if (turn.trigger == "silence" and index not in self._used and index not in self._silence_fired
                    and seconds >= turn.seconds):
                self._silence_fired.add(index)
                return self._fire(index, turn)
        return []

    def spoke(self) -> None:
        """The agent spoke: a new quiet spell starts after it."""
        self._silence_fired.clear()

    def say_text(self, action: Action) -> str:
        return action.text.replace("{result}", self.last_result)
