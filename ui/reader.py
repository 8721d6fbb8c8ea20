"""The screen read aloud (EN 301 549 5.1.3): what the patron would read, in the patron's language.

Speech starts when the patron asks for it (the Read aloud button, the keyboard's speech key) and then
follows every new screen until the session ends, when it stops and the volume is reset for the next
patron. Results are spoken (5.1.3.16) and each item done or needing the patron gets its own short sound.
PIN digits are a neutral tone, never the digit (5.1.3.8). In a language without a voice the station
says so and offers, each in its own language and voice, the languages it can speak.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from drivers.speech import Speaker, SpeechError, Tone
from kiosk.core import Action, ItemRow, RowState, Screen, ScreenName
from kiosk.i18n import offered_languages
from ui.rows import NEEDS_PATRON, summary
from ui.text import is_error, library_words, tr

log = logging.getLogger(__name__)


def phrases(screen: Screen) -> list[str]:
    """The screen's content in reading order: heading, message, summary, rows, details, buttons."""
    lang = screen.language
    said = [tr(screen.heading, lang)]
    if screen.message is not None:
        said.append(tr(screen.message, lang))
        if library_words(screen.message):
            said.append(f"{tr('library.says', lang)} {library_words(screen.message)}")
    if screen.rows:
        said.append(summary(screen.rows, lang))
    for row in screen.rows:
        said.append(f"{row.title or row.item_id}: {tr(row.text, lang)}")
        if library_words(row.text):
            said.append(f"{tr('library.says', lang)} {library_words(row.text)}")
    said += [tr(line, lang) for line in screen.details]
    buttons = [tr(f"action.{a}", lang) for a in screen.actions if a is not Action.MORE_TIME]
    if buttons:
        said.append(", ".join(buttons) + ".")
    return [p for p in said if p]


def row_sounds(before: Screen | None, now: Screen) -> list[Tone]:
    """A sound per item that became done, and a distinct one per item that now needs the patron."""
    old = {r.item_id: r.state for r in before.rows} if before is not None and before.name == now.name else {}
    sounds = []
    for row in now.rows:
        if old.get(row.item_id) == row.state:
            continue
        if row.state is RowState.DONE:
            sounds.append(Tone.DONE)
        elif row.state in NEEDS_PATRON:
            sounds.append(Tone.PROBLEM)
    if is_error(now.message) and (before is None or before.message != now.message):
        sounds.append(Tone.PROBLEM)
    return sounds


def receipt_phrases(rows: tuple[ItemRow, ...], language: str) -> list[str]:
    """The receipt read aloud (EN 301 549 5.1.3.16): what was done, as the printed receipt lists it."""
    done = [f"{row.title or row.item_id}: {tr(row.text, language)}" for row in rows]
    return [tr("receipt.print_heading", language), *done] if done else []


class ScreenReader:
    """Speaks phrase by phrase, so a pause stops at once and a resume goes on from the phrase it cut."""

    def __init__(self, speaker: Speaker | None, run: Callable[[Any], None]) -> None:
        self.speaker = speaker
        self._run = run  # runs a coroutine on the app's loop, logging failures
        self.active = False
        self.last: Screen | None = None
        self.headset = False  # a headset is plugged in: speech goes there
        self.speak_on_headset = True  # [speech] speak_on_headset
        self.receipt: tuple[ItemRow, ...] = ()  # what this visit's receipt lists, until the session ends
        self.paused = False
        self._queue: list[tuple[str, str]] = []  # (phrase, language) not said yet: the first is being said
        self._turn = 0  # each new reading (or a pause) ends the one before

    @property
    def available(self) -> bool:
        return self.speaker is not None

    @property
    def speaking(self) -> bool:
        return bool(self._queue) and not self.paused

    def can_speak(self, language: str) -> bool:
        return self.speaker is not None and language in self.speaker.languages

    def spoken_languages(self) -> list[str]:
        spoken = self.speaker.languages if self.speaker is not None else frozenset()
        return [code for code in offered_languages() if code in spoken]

    def start(self, screen: Screen | None, extra: list[str] | None = None) -> None:
        """The patron asked: speak the screen now, and every screen after it."""
        if self.speaker is None or screen is None:
            return
        self.active = True
        self._say(screen, extra)

    def shown(self, screen: Screen, extra: list[str] | None = None) -> None:
        """A new screen: sounds for the rows, speech if it is on; the session's end resets everything."""
        if self.speaker is None:
            return
        for sound in row_sounds(self.last, screen):
            self._run(self.speaker.tone(sound))
        self.last = screen
        if self.active and screen.name is not ScreenName.WELCOME:
            self._say(screen, extra)

    def keep_receipt(self, screen: Screen) -> None:
        """The receipt screen lists what this visit's receipt says: kept to be read aloud on request."""
        if screen.name is ScreenName.RECEIPT:
            self.receipt = tuple(row for row in screen.rows if row.state is RowState.DONE)

    def read_receipt(self, language: str) -> None:
        """The receipt aloud, on request (the header's tool on the receipt and goodbye screens)."""
        said = receipt_phrases(self.receipt, language)
        if said and self.can_speak(language):
            self._play([(phrase, language) for phrase in said])

    def pause_or_resume(self, screen: Screen | None) -> None:
        """The keypad's pause key: stop at once; pressed again, go on from the phrase that was cut (or
        read the screen again when everything was said)."""
        if self.speaker is None:
            return
        if self.speaking:
            self.paused = True
            self._turn += 1
            self._run(self.speaker.stop())
        elif self.paused and self._queue:
            self.paused = False
            self._run(self._speak_queue(self._turn))
        else:
            self.start(screen)

    def headset_changed(self, plugged: bool, screen: Screen | None) -> None:
        """Plugged in: speech through the headset, and (speak_on_headset) the screen read from now on.
        Pulled out: speech stops (a patron's loans are not read out to the room) and goes back to the
        loudspeaker, for a patron who asks for it."""
        if self.speaker is None:
            return
        self.headset = plugged
        self.speaker.route(plugged)
        if plugged and self.speak_on_headset:
            self.start(screen)
        elif not plugged:
            self.active = False
            self._silence()

    def change_volume(self, step: float) -> None:
        """Louder or softer for this session (reset at its end); the key tone says how loud it is now."""
        if self.speaker is None:
            return
        self.speaker.set_volume(min(1.0, max(0.1, round(self.speaker.volume + step, 2))))
        self.key_tone()

    def key_tone(self) -> None:
        if self.speaker is not None:
            self._run(self.speaker.tone(Tone.KEY))

    def end_of_session(self) -> None:
        """Nothing of this patron for the next: speech off (on again while a headset stays plugged in, if
        the library wants that), the volume reset, the receipt forgotten."""
        self.active = self.headset and self.speak_on_headset
        self.receipt = ()
        if self.speaker is not None:
            self.speaker.reset_volume()
            self._silence()

    def _silence(self) -> None:
        assert self.speaker is not None
        self._turn += 1
        self._queue, self.paused = [], False
        self._run(self.speaker.stop())

    def _say(self, screen: Screen, extra: list[str] | None) -> None:
        lang = screen.language
        if self.can_speak(lang):
            self._play([(phrase, lang) for phrase in [*phrases(screen), *(extra or [])]])
            return
        # no voice for the screen's language: each spoken language's offer, in that language and voice
        self._play([(tr("speech.offer", code), code) for code in self.spoken_languages()])

    def _play(self, said: list[tuple[str, str]]) -> None:
        self._turn += 1
        self._queue, self.paused = list(said), False
        self._run(self._speak_queue(self._turn))

    async def _speak_queue(self, turn: int) -> None:
        """Say the queued phrases in order until they are said, or another reading or a pause takes over
        (then the phrase being said stays first in the queue, for a resume)."""
        assert self.speaker is not None
        while self._queue and turn == self._turn:
            phrase, language = self._queue[0]
            try:
                await self.speaker.speak(phrase, language)
            except SpeechError:
                log.exception("speech output failed")
            if turn != self._turn:
                return
            self._queue.pop(0)
