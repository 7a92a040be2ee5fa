"""The question node: ask, wait for the caller, check the answer, reprompt, give up.

While a question waits it takes messages, ``DTMF`` and ``noUserInput`` events. An invalid answer
is reprompted up to ``retries`` times and silence up to ``no_input_retries`` times; after that the
flow goes to ``on_no_input`` (silence) or ``on_failure``, or, if neither is set, to ``next`` with
the answer ``null``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from audiocodes_endpoint.channel.audiocodes import message
from audiocodes_endpoint.flows import answers
from audiocodes_endpoint.flows.fields import ContextPath, NodeId, Text
from audiocodes_endpoint.flows.nodes.base import Linear, Problems, References
from audiocodes_endpoint.flows.nodes.common import ACTIVITY_PARAMS, SESSION_PARAMS, Params, render_params
from audiocodes_endpoint.flows.paths import set_path
from audiocodes_endpoint.flows.steps import Next, Step, Wait

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.runtime import Turn

Expect = Literal["text", "number", "yes_no", "digits", "regex", "intent", "choice"]
IntentName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]


class Choice(BaseModel):
    """One option of a menu: selected by its DTMF key, one of its intents, or a word/phrase."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    dtmf: Annotated[str, StringConstraints(pattern=r"^[0-9*#]{1,20}$")] | None = Field(
        default=None, description="The key(s) that select this choice, e.g. `1`."
    )
    intents: list[IntentName] = Field(default_factory=list, description="Intents that select this choice.")
    synonyms: list[str] = Field(default_factory=list, description="Words or phrases that select this choice.")
    next: NodeId | None = Field(default=None, description="Where to go when chosen (default: the node's `next`).")


class Question(Linear):
    """Ask, wait, validate; the answer goes to ``store`` in context and to ``input.result``."""

    type: Literal["question"]
    text: Text = Field(description="The prompt (text or SSML).")
    expect: Expect = Field(default="text", description="What a valid answer is.")
    store: ContextPath | None = Field(default=None, description="Context path for the answer.")
    activityParams: Params | None = ACTIVITY_PARAMS
    sessionParams: Params | None = SESSION_PARAMS
    reprompt: Text | None = Field(default=None, description="Said after an invalid answer (default: the prompt).")
    retries: int = Field(default=2, ge=0, le=10, description="Invalid answers reprompted before giving up.")
    no_input_reprompt: Text | None = Field(
        default=None, description="Said on a `noUserInput` event (default: `reprompt`, then the prompt)."
    )
    no_input_retries: int = Field(default=2, ge=0, le=10, description="Silences reprompted before giving up.")
    on_failure: NodeId | None = Field(default=None, description="Where to go after too many invalid answers.")
    on_no_input: NodeId | None = Field(default=None, description="Where to go after too many silences.")
    pattern: str | None = Field(default=None, description="`expect: regex`: a Python regular expression.")
    min_digits: int = Field(default=1, ge=1, le=64, description="`expect: digits`: fewest digits accepted.")
    max_digits: int = Field(default=20, ge=1, le=64, description="`expect: digits`: most digits accepted.")
    intents: list[IntentName] = Field(
        default_factory=list, description="`expect: intent`: the intents accepted (empty: any)."
    )
    choices: dict[str, Choice] = Field(default_factory=dict, description="`expect: choice`: value -> choice.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return value

    @model_validator(mode="after")
    def _fits_expect(self) -> Question:
        if self.expect == "regex" and self.pattern is None:
            raise ValueError("`expect: regex` needs `pattern`")
        if self.expect == "choice" and not self.choices:
            raise ValueError("`expect: choice` needs `choices`")
        if self.pattern is not None and self.expect != "regex":
            raise ValueError("`pattern` only applies to `expect: regex`")
        if self.choices and self.expect != "choice":
            raise ValueError("`choices` only apply to `expect: choice`")
        if self.intents and self.expect != "intent":
            raise ValueError("`intents` only apply to `expect: intent`")
        if self.min_digits > self.max_digits:
            raise ValueError("`min_digits` is greater than `max_digits`")
        return self

    # --- asking ----------------------------------------------------------------------------------

    def run(self, turn: Turn) -> Step:
        turn.send(
            message(
                turn.text(self.text),
                activity_params=render_params(turn, self.activityParams),
                session_params=render_params(turn, self.sessionParams),
            )
        )
        return Wait({"kind": "question", "retries": 0, "no_inputs": 0})

    def accepts(self, turn: Turn, waiting: dict[str, Any]) -> bool:
        return turn.input.event in (None, "DTMF", "noUserInput")

    def needs_events(self) -> frozenset[str]:
        return frozenset({"noUserInput"})  # silences are reprompted, then on_no_input

    def resume(self, turn: Turn, waiting: dict[str, Any]) -> Step:
        retries, no_inputs = int(waiting.get("retries", 0)), int(waiting.get("no_inputs", 0))
        if turn.input.event == "noUserInput":
            no_inputs += 1
            if no_inputs > self.no_input_retries:
                return self._give_up(turn, self.on_no_input or self.on_failure)
            self._reprompt(turn, self.no_input_reprompt or self.reprompt or self.text)
            return Wait({"kind": "question", "retries": retries, "no_inputs": no_inputs})
        valid, answer, target = self._read(turn)
        if not valid:
            retries += 1
            if retries > self.retries:
                return self._give_up(turn, self.on_failure)
            self._reprompt(turn, self.reprompt or self.text)
            return Wait({"kind": "question", "retries": retries, "no_inputs": no_inputs})
        self._store(turn, answer)
        return Next(target or self.next)

    def _reprompt(self, turn: Turn, text: str) -> None:
        turn.send(message(turn.text(text), activity_params=render_params(turn, self.activityParams)))

    def _give_up(self, turn: Turn, target: str | None) -> Step:
        self._store(turn, None)
        return Next(target or self.next)

    def _store(self, turn: Turn, answer: Any) -> None:
        turn.result = answer
        if self.store:
            set_path(turn.context, self.store, answer)

    # --- reading the answer ----------------------------------------------------------------------

    def _read(self, turn: Turn) -> tuple[bool, Any, str | None]:
        """(valid, answer, node to go to instead of ``next``)."""
        inp = turn.input
        text = (inp.text or "").strip()
        if self.expect == "text":
            return bool(text), text, None
        if self.expect == "number":
            value = answers.number(text)
            return value is not None, value, None
        if self.expect == "yes_no":
            yes = answers.yes_no(text)
            if yes is None and inp.intent in ("yes", "no"):
                yes = inp.intent == "yes"
            return yes is not None, yes, None
        if self.expect == "digits":
            found = answers.digits(text)
            ok = found is not None and self.min_digits <= len(found) <= self.max_digits
            return ok, found if ok else None, None
        if self.expect == "regex":
            match = re.search(self.pattern or "", text)
            return match is not None, match.group(0) if match else None, None
        if self.expect == "intent":
            ok = inp.intent is not None and (not self.intents or inp.intent in self.intents)
            return ok, inp.intent if ok else None, None
        return self._choose(turn, text)

    def _choose(self, turn: Turn, text: str) -> tuple[bool, Any, str | None]:
        """Keys first, then intents, then words: a caller who pressed 1 meant 1."""
        inp = turn.input
        keyed = text.rstrip("#") if inp.event == "DTMF" else answers.digits(text)
        spoken = f" {' '.join(answers.words(text))} " if inp.event != "DTMF" else ""
        for rule in ("dtmf", "intent", "words"):
            for value, choice in self.choices.items():
                if rule == "dtmf":
                    hit = keyed is not None and choice.dtmf == keyed
                elif rule == "intent":
                    hit = inp.intent is not None and inp.intent in choice.intents
                else:
                    phrases = [" ".join(answers.words(p)) for p in [*choice.synonyms, value]]
                    hit = any(p and f" {p} " in spoken for p in phrases)
                if hit:
                    return True, value, choice.next
        return False, None, None

    def claims(self, turn: Turn, waiting: dict[str, Any]) -> bool:
        # A valid answer beats a global intent, except for free text, which every input is.
        if super().claims(turn, waiting):
            return True
        return self.expect != "text" and turn.input.event is None and self._read(turn)[0]

    def claims_intent(self, intent: str) -> bool:
        if self.expect == "intent":
            return not self.intents or intent in self.intents
        if self.expect == "yes_no":
            return intent in ("yes", "no")
        return any(intent in choice.intents for choice in self.choices.values())

    # --- load-time ----------------------------------------------------------------------------------

    def edges(self) -> list[tuple[str, str]]:
        edges = [(f"choices.{value}.next", choice.next) for value, choice in self.choices.items() if choice.next]
        for field, target in (
            ("next", self.next),
            ("on_failure", self.on_failure),
            ("on_no_input", self.on_no_input),
        ):
            if target:
                edges.append((field, target))
        return edges

    def check(self, refs: References) -> Problems:
        for intent in self.intents:
            if not refs.has_intent(intent):
                yield "intents", f"no intent named {intent!r} in intents.yaml"
        for value, choice in self.choices.items():
            for intent in choice.intents:
                if not refs.has_intent(intent):
                    yield f"choices.{value}.intents", f"no intent named {intent!r} in intents.yaml"

    def summary(self) -> str:
        return f"{self.expect}: {self.text}"
