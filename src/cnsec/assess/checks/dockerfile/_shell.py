"""RUN/CMD/ENTRYPOINT text → the simple shell commands in it, with the operator that joins them.

Dockerfile checks ask questions such as "is ``apt-get update`` followed by an install in the same
layer?" or "is curl piped into a shell?". Substring tests get these wrong (``update-locale``,
``apt`` inside a URL), so commands are split with :mod:`shlex` (punctuation-aware) and looked at
word by word. A script shlex cannot tokenise (unbalanced quotes) falls back to whitespace words.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

from cnsec.assess.loaders.dockerfile import Instruction

_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;", "|&", "{", "}"}
_REDIRECTS = {">", ">>", "<", "<<", "<<<", ">&", "<&", "&>", "&>>", ">|"}
_WRAPPERS = {"sudo", "env", "time", "nohup", "exec", "command", "nice", "doas", "su-exec", "gosu"}
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"}


@dataclass(slots=True)
class Command:
    argv: list[str]  # words as written, wrappers (sudo, env VAR=…) included
    after: str  # the operator before this command ("" for the first one, "|" when piped into)

    @property
    def words(self) -> list[str]:
        """The words from the real program on: ``sudo -E env A=1 apt-get install x`` → apt-get …"""
        i = 0
        argv = self.argv
        while i < len(argv):
            w = argv[i]
            base = w.rsplit("/", 1)[-1]
            if _ASSIGN.match(w):
                i += 1
            elif base in _WRAPPERS:
                i += 1
                while i < len(argv) and argv[i].startswith("-"):
                    i += 1
                if base in {"gosu", "su-exec"} and i < len(argv):
                    i += 1  # the user to switch to
            else:
                break
        return argv[i:]

    @property
    def program(self) -> str:
        w = self.words
        return w[0].rsplit("/", 1)[-1] if w else ""


def script_of(ins: Instruction) -> str:
    """The shell text an instruction runs (exec form ``["sh", "-c", "…"]`` unwrapped)."""
    argv = ins.exec_form
    if argv is None:
        return ins.value
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in SHELLS and argv[1] in {"-c", "-ec", "-ex", "-exc"}:
        return argv[2]
    return " ".join(shlex.quote(a) for a in argv)


#: Scripts up to this length are split once per process: five checks read every RUN instruction.
_MAX_REMEMBERED = 8192


def _words(script: str) -> list[str]:
    return list(_remembered_words(script) if len(script) <= _MAX_REMEMBERED else _split(script))


def _split(script: str) -> tuple[str, ...]:
    lexer = shlex.shlex(script.replace("\n", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return tuple(lexer)
    except ValueError:
        return tuple(re.findall(r"&&|\|\||[;|&()]|[^\s;|&()]+", script.replace("\n", " ; ")))


_remembered_words = lru_cache(maxsize=512)(_split)


def commands(script: str) -> list[Command]:
    out: list[Command] = []
    current: list[str] = []
    op = ""
    skip_next = False
    for w in _words(script):
        if skip_next:
            skip_next = False
            continue
        if w in _SEPARATORS:
            if current:
                out.append(Command(current, op))
            current = []
            op = w
            continue
        if w in _REDIRECTS:
            skip_next = True
            continue
        current.append(w)
    if current:
        out.append(Command(current, op))
    return out


def run_commands(ins: Instruction) -> list[Command]:
    return commands(script_of(ins))
