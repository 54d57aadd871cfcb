"""The console: a person types as a Slack user; the bot gets the requests Slack would send.

Lines are read plainly from an injected text stream (no readline), so the console works on a
pipe, in a pty and in tests. What the bot sends back arrives on other threads through the
Slack surface (``receive``) and is printed as it comes, with the prompt shown again after it.
"""

from __future__ import annotations

import itertools
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from bot.console import payloads
from bot.console.render import Button, confirm_question, mrkdwn, render_blocks
from bot.domain import messages as msg
from bot.sim.slack.web_api import FakeSlack, Posted

DEFAULT_USER = "URES0001"  # a member of the example policy's research team
DEFAULT_CHANNEL = "CRESEARCH1"  # that team's channel
MAX_CHOICES = 500  # old buttons are forgotten; numbers keep growing so they are never reused
FILE_LINES = 20
USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]{2,}")


@dataclass(frozen=True)
class _Choice:
    button: Button
    channel: str
    ts: str | None  # the clicked message, None when it was ephemeral (Slack then sends no message)


class Console:
    def __init__(self, input: TextIO, output: TextIO, user: str = DEFAULT_USER, channel: str = DEFAULT_CHANNEL,
                 reply_timeout: float = 15.0) -> None:
        self.input, self.output = input, output
        self.user, self.channel = user, channel
        self.reply_timeout = reply_timeout
        self._cond = threading.Condition(threading.RLock())
        self._closed = False
        self._prompt: str | None = None  # shown while waiting for input; printed again after async output
        self._choices: dict[int, _Choice] = {}
        self._next_number = 1
        self._answered: set[str] = set()  # response_url ids the bot has posted to
        self._for_me = 0  # ephemerals to this user and DM posts: the answers to sentences
        self._homes = 0  # App Home views published for this user
        self._home_wanted = False  # show the next Home view whole (else a one-line note: it changes often)
        self._rid_channel: dict[str, str] = {}
        self._rids = itertools.count(1)
        self._link: payloads.BotLink | None = None
        self._surface: FakeSlack | None = None
        self._stop = threading.Event()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self.help_text = msg.console_help()  # `/help`: the demo adds who you can be and the sim's conventions

    def attach(self, link: payloads.BotLink, surface: FakeSlack) -> None:
        self._link, self._surface = link, surface

    # --- output ----------------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        with self._cond:
            try:
                if self._prompt is not None:
                    self.output.write("\n")
                self.output.write(text.rstrip("\n") + "\n")
                if self._prompt is not None:
                    self.output.write(self._prompt)
                self.output.flush()
            except (OSError, ValueError):  # the terminal is gone (EIO, a closed pipe): nobody is left to talk to
                self.request_stop()

    def say(self, text: str) -> None:
        """A note from the console itself (not from the bot), in the bot's mrkdwn style."""
        self._write(mrkdwn(text))

    def receive(self, posted: Posted) -> None:
        """The sink of the Slack surface: render what the bot sent, number its buttons, print it."""
        with self._cond:
            if self._closed:
                return
            self._track(posted)
            self._cond.notify_all()
            if posted.kind == "home" and posted.user == self.user:
                wanted, self._home_wanted = self._home_wanted, False
                if not wanted:  # the Home tab is republished on every job change: a note, not the whole view
                    self._write(mrkdwn(msg.console_home_changed(self.user)))
                    return
            rendered = render_blocks(posted.blocks, posted.text, self._next_number)
            self._next_number += len(rendered.buttons)
            where = posted.channel or self._rid_channel.get(posted.response_id or "", self.channel)
            ts = posted.ts if posted.kind in ("post", "update") else None
            for b in rendered.buttons:
                self._choices[b.number] = _Choice(b, where, ts)
            for old in sorted(self._choices)[:-MAX_CHOICES]:
                del self._choices[old]
            heading = _heading(posted, rendered.title)
            body = rendered.text if posted.kind != "file" else _file_body(posted)
            self._write(f"{heading}\n{body}" if body else heading)

    def _track(self, posted: Posted) -> None:
        """Count what answers the person's requests, so ``_send`` knows when its answer came."""
        if posted.kind == "response" and posted.response_id:
            self._answered.add(posted.response_id)
        elif (posted.kind == "ephemeral" and posted.user == self.user) or (
            posted.kind == "post" and posted.channel == self.channel and self.channel.startswith("D")
        ):
            self._for_me += 1
        elif posted.kind == "home" and posted.user == self.user:
            self._homes += 1

    # --- input -----------------------------------------------------------------------------------

    def _read(self, prompt: str) -> str | None:
        """The next line, or None at end of input or once ``request_stop`` was called."""
        with self._cond:
            self._prompt = prompt
            try:
                self.output.write(prompt)
                self.output.flush()
            except (OSError, ValueError):
                self.request_stop()
        if self._reader is None:
            self._reader = threading.Thread(target=self._read_lines, name="console-input", daemon=True)
            self._reader.start()
        line: str | None = None
        while not self._stop.is_set():
            try:
                line = self._lines.get(timeout=0.1)
                break
            except queue.Empty:
                continue
        with self._cond:
            self._prompt = None
        return None if line is None or self._stop.is_set() else line.strip()

    def _read_lines(self) -> None:
        # Reading happens in its own thread so that Ctrl-C never interrupts the main thread mid-work
        # (an exception raised inside a lock or a condition wait can leave it held and hang shutdown).
        try:
            for line in iter(self.input.readline, ""):
                self._lines.put(line)
        except (OSError, ValueError):  # EIO: the terminal was closed (a killed tmux, a dropped SSH session)
            pass
        finally:
            self._lines.put(None)  # the end of input ends the console, however it came

    def request_stop(self) -> None:
        """Ctrl-C / SIGTERM: the signal handler only sets a flag; the loop ends at its next step."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def run(self, banner: str | None = None) -> int:
        """Read and send lines until ``/quit``, end of input or Ctrl-C. Always 0: ending is not an error.

        The caller says goodbye once the bot has stopped, so that the last line is the last word."""
        if banner:
            self.say(banner)
        try:
            while (line := self._read(f"{self.user} #{self.channel}> ")) is not None:
                if line and not self.handle(line):
                    break
        except KeyboardInterrupt:
            pass
        with self._cond:
            self._closed = True  # what the bot sends while it shuts down is not shown after the person left
        return 0

    def handle(self, line: str) -> bool:
        """Act on one line; False when the person asked to quit."""
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word in ("/quit", "/exit"):
            return False
        if word == "/gpu":
            self._slash(rest)
        elif line.isdigit():
            self._click(int(line))
        elif word in ("/help", "/help-console", "/console"):
            self.say(self.help_text)
        elif word == "/home":
            self._home()
        elif word == "/user":
            self._switch(user=rest)
        elif word == "/channel":
            self._switch(channel=rest)
        elif word.startswith("/"):
            self.say(msg.console_unknown_command(word))
        else:
            self._sentence(line)
        return True

    def _switch(self, user: str = "", channel: str = "") -> None:
        if user and not USER_ID.fullmatch(user):
            self.say(msg.console_bad_id("user", user, DEFAULT_USER))
        elif channel and not CHANNEL_ID.fullmatch(channel):
            self.say(msg.console_bad_id("channel", channel, DEFAULT_CHANNEL))
        else:
            self.user, self.channel = user or self.user, channel or self.channel
            self.say(msg.console_now_as(self.user, self.channel))

    # --- requests --------------------------------------------------------------------------------

    def _new_rid(self, channel: str) -> tuple[str, str]:
        assert self._surface is not None, "attach() the console to the bot first"
        rid = f"r{next(self._rids)}"
        with self._cond:
            self._rid_channel[rid] = channel
        return rid, self._surface.response_url(rid)

    def _send(self, body: bytes, answered: Callable[[], bool]) -> None:
        assert self._link is not None, "attach() the console to the bot first"
        status, detail = self._link.send(body)
        if status != 200:
            self.say(msg.console_not_delivered(status, detail))
        elif not self._wait(answered):
            self.say(msg.console_no_answer_yet())

    def _wait(self, done: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + self.reply_timeout
        with self._cond:
            while not done() and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def _slash(self, text: str) -> None:
        rid, url = self._new_rid(self.channel)
        self._send(payloads.slash_command(text, self.user, self.channel, url), lambda: rid in self._answered)

    def _sentence(self, text: str) -> None:
        with self._cond:
            before = self._for_me
        body = payloads.sentence_event(text, self.user, self.channel)
        self._send(body, lambda: self._for_me > before)

    def _home(self) -> None:
        with self._cond:
            before, self._home_wanted = self._homes, True
        self._send(payloads.home_opened_event(self.user), lambda: self._homes > before)

    def _click(self, number: int) -> None:
        with self._cond:
            choice = self._choices.get(number)
        if choice is None:
            self.say(msg.console_no_such_button(number))
            return
        b = choice.button
        if b.confirm is not None:
            answer = self._read(confirm_question(b.confirm))
            if answer is None or answer.lower() not in ("y", "yes"):
                self.say(msg.console_not_confirmed())
                return
        assert self._surface is not None
        message = self._surface.message(choice.channel, choice.ts) if choice.ts else None
        rid, url = self._new_rid(choice.channel)
        body = payloads.block_actions(b.action_id, b.value, b.block_id, self.user, choice.channel, url, message)
        self._send(body, lambda: rid in self._answered)


def _heading(p: Posted, title: str | None) -> str:
    where = f"#{p.channel}" if p.channel and not p.channel.startswith("D") else "DM"
    match p.kind:
        case "response":
            note = "replaces the message it answers" if p.replace_original else "only you can see this"
            return f"── reply ({note}) ──"
        case "ephemeral":
            return f"── {where} · only @{p.user} can see this ──"
        case "update":
            return f"── {where} · [updated {'card ' + title if title else 'message'}] ──"
        case "delete":
            return f"── {where} · [message deleted] ──"
        case "file":
            return f"── {where} · file ──"
        case "home":
            return f"── App Home of @{p.user} ──"
    if p.thread_ts:
        return f"── {where} · thread reply ──"
    return f"── {where} · {'card ' + title if title else 'message'} ──"


def _file_body(p: Posted) -> str:
    lines = p.content.decode("utf-8", "replace").splitlines()
    shown = "\n".join(lines[-FILE_LINES:])
    more = f"(last {FILE_LINES} of {len(lines)} lines)\n" if len(lines) > FILE_LINES else ""
    return f"{mrkdwn(p.text)}\n{more}```\n{shown}\n```"
