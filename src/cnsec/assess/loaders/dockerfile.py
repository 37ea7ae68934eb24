"""Dockerfiles → instructions with lines, stages and comments (our own small parser).

Handles line continuations (``\\`` or the ``# escape=`` directive), comments inside continued
lines, JSON (exec) form, heredocs (``<<EOF``) and multi-stage builds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from cnsec.model.finding import InputProblem

INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]{0,63})[\"']?")
_DIRECTIVE = re.compile(r"^#\s*(escape|syntax|check)\s*=\s*(\S+)\s*$", re.IGNORECASE)


@dataclass(slots=True)
class Instruction:
    cmd: str  # upper-case
    value: str  # the arguments as written (continuations joined)
    line: int
    end_line: int
    stage: int
    flags: dict[str, str] = field(default_factory=dict)

    @property
    def exec_form(self) -> list[str] | None:
        text = self.value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                return None
            if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
                return parsed
        return None


@dataclass(slots=True)
class Dockerfile:
    file: str
    instructions: list[Instruction]
    comments: dict[int, str]  # line -> comment text
    lines: list[str]
    key: str = ""

    @property
    def stages(self) -> list[list[Instruction]]:
        out: list[list[Instruction]] = []
        for ins in self.instructions:
            if ins.cmd == "FROM" or not out:
                out.append([])
            out[-1].append(ins)
        return out

    @property
    def final_stage(self) -> list[Instruction]:
        stages = self.stages
        return stages[-1] if stages else []

    def of(self, *cmds: str) -> list[Instruction]:
        return [i for i in self.instructions if i.cmd in cmds]


def _split_flags(value: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    rest = value.lstrip()
    while rest.startswith("--"):
        token, _, tail = rest.partition(" ")
        name, _, val = token[2:].partition("=")
        flags[name.lower()] = val
        rest = tail.lstrip()
    return flags, rest


def _unknown(word: str) -> str:
    """Name the word only when it looks like an instruction: a stray line may be a secret."""
    if not word:
        return "a line continuation with nothing after it"
    if _WORD.fullmatch(word):
        return f"unknown Dockerfile instruction {word!r}"
    return "this line does not start with a Dockerfile instruction"


_WORD = re.compile(r"[A-Za-z]{1,16}")


def parse_dockerfile(text: str, file: str) -> tuple[Dockerfile, list[InputProblem]]:
    problems: list[InputProblem] = []
    lines = text.splitlines()
    escape = "\\"
    comments: dict[int, str] = {}
    instructions: list[Instruction] = []
    stage = -1
    i = 0
    n = len(lines)
    in_directives = True
    while i < n:
        raw = lines[i]
        stripped = raw.strip()
        lineno = i + 1
        if not stripped:
            i += 1
            in_directives = False
            continue
        if stripped.startswith("#"):
            m = _DIRECTIVE.match(stripped)
            if in_directives and m and m.group(1).lower() == "escape":
                escape = m.group(2)[0]
            elif not m:
                in_directives = False
            comments[lineno] = stripped
            i += 1
            continue
        in_directives = False
        parts = [stripped]
        end = i
        while parts[-1].endswith(escape) and end + 1 < n:
            parts[-1] = parts[-1][:-1]
            end += 1
            nxt = lines[end].strip()
            # comments and empty lines inside a continuation are skipped, as Docker does
            while (nxt.startswith("#") or not nxt) and end + 1 < n:
                if nxt:
                    comments[end + 1] = nxt
                end += 1
                nxt = lines[end].strip()
            parts.append(nxt)
        if parts[-1].endswith(escape):
            parts[-1] = parts[-1][:-1]
        joined = " ".join(p for p in parts if p)
        word, _, rest = joined.partition(" ")
        cmd = word.upper()
        heredoc = _HEREDOC.search(rest) if cmd in {"RUN", "COPY"} else None
        if heredoc:
            terminator = heredoc.group(1)
            body: list[str] = []
            while end + 1 < n and lines[end + 1].strip() != terminator:
                end += 1
                body.append(lines[end])
            if end + 1 >= n:
                problems.append(InputProblem(file, lineno, f"heredoc <<{terminator} is never closed"))
            end += 1
            rest = rest + "\n" + "\n".join(body)
        if cmd not in INSTRUCTIONS:
            problems.append(InputProblem(file, lineno, _unknown(word)))
            i = end + 1
            continue
        if cmd == "FROM":
            stage += 1
        flags, value = _split_flags(rest)
        instructions.append(Instruction(cmd, value, lineno, end + 1, max(stage, 0), flags))
        i = end + 1
    if instructions and instructions[0].cmd not in {"FROM", "ARG"}:
        first = instructions[0].cmd
        found = f" (found {first})" if first in INSTRUCTIONS else ""
        problems.append(InputProblem(file, instructions[0].line, f"a Dockerfile must start with FROM{found}"))
    return Dockerfile(file, instructions, comments, lines), problems


#: Extensions that make a ``Dockerfile.<ext>`` something else: documentation, a template that a
#: script renders into the Dockerfiles (docker-library's ``Dockerfile-linux.template``: 154 false
#: input errors on one repository), a script, or source code (``dockerfile.go`` in a parser).
NOT_DOCKERFILE_EXTENSIONS = frozenset({
    "md", "markdown", "rst", "txt", "adoc", "html", "htm", "pdf", "png", "svg",
    "template", "tmpl", "tpl", "j2", "jinja", "jinja2", "erb", "mustache", "hbs", "gotmpl", "njk",
    "sh", "bash", "zsh", "ps1", "psm1", "bat", "cmd", "py", "pyc", "go", "js", "mjs", "ts", "rb", "pl",
    "java", "kt", "rs", "c", "h", "cc", "cpp", "cs", "php", "lua", "groovy", "gradle",
    "json", "yaml", "yml", "toml", "ini", "cfg", "conf", "xml", "properties", "lock", "sum", "mod",
    "bak", "orig", "rej", "swp", "tmp", "old", "patch", "diff", "log", "dockerignore", "gitignore",
})


def is_dockerfile_name(name: str) -> bool:
    """``Dockerfile``, ``Containerfile``, ``Dockerfile.<variant>``, ``Dockerfile-<variant>``,
    ``Containerfile.<variant>``, ``<name>.Dockerfile`` (any case): a Dockerfile, unless the last
    extension says it is something else (:data:`NOT_DOCKERFILE_EXTENSIONS`: ``Dockerfile.md``,
    ``Dockerfile-linux.template``, ``dockerfile.go``). A file is judged by its own name alone, never
    by its folder: the sources in a folder named ``dockerfile`` are not Dockerfiles."""
    low = name.lower()
    if low in {"dockerfile", "containerfile"} or low.endswith((".dockerfile", ".containerfile")):
        return True
    if not low.startswith(("dockerfile.", "dockerfile-", "containerfile.", "containerfile-")):
        return False
    _, dot, ext = low.rpartition(".")
    return not (dot and ext in NOT_DOCKERFILE_EXTENSIONS)
