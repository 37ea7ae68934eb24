"""Control-plane command lines: which container runs kube-apiserver or the kubelet, and its flags.

Static pod manifests (``/etc/kubernetes/manifests``) and cluster dumps carry the component's flags
in ``command`` and/or ``args`` (kubeadm puts all in ``command``, RKE2 splits binary and ``args``,
some put a whole shell line in one string). This module turns them into one flag map with the
path of each flag, so a check can point at the offending line and patch it.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import shlex
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from cnsec.assess.patches import pointer
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import Container, Workload

Path = tuple[str | int, ...]
APISERVER = "kube-apiserver"
KUBELET = "kubelet"
_ALIASES = {"kube-apiserver": APISERVER, "apiserver": APISERVER, "kubelet": KUBELET}
#: Boolean flags: ``--flag`` alone means true and the next token is never their value.
_BOOL_FLAGS = {"anonymous-auth"}


@dataclass(slots=True)
class Flag:
    value: str
    path: Path  # the command/args element that holds the flag
    exact: bool  # True when that element holds only this flag (a patch may replace it)


@dataclass(slots=True)
class Component:
    """One container that runs a control-plane binary, with its flags as the process sees them."""

    container: Container
    binary: str  # APISERVER or KUBELET
    flags: dict[str, Flag] = field(default_factory=dict)
    append_to: Path | None = None  # the list a missing flag is appended to (None: shell form)

    def get(self, name: str) -> str | None:
        f = self.flags.get(name)
        return f.value if f else None

    def has(self, name: str) -> bool:
        return name in self.flags

    def at(self, name: str) -> Path:
        """Where a finding about ``name`` points: the flag if present, else the command list."""
        f = self.flags.get(name)
        if f is not None:
            return f.path
        return self.append_to or self.container.at("command")

    def line(self, res: K8sResource, ctx: object, name: str) -> int | None:
        """The line of flag ``name``: the loader gives lines of keys and mappings, not of list
        scalars, so the element is looked up in the file text below its list key."""
        f = self.flags.get(name)
        inv = getattr(ctx, "inventory", None)
        if f is None or inv is None:
            return None
        start = res.line_at(*f.path[:-1])
        lines = inv.lines(res.file)
        needle = "--" + name
        for n in range(start - 1, min(res.end_line, len(lines))):
            if needle in lines[n]:
                return n + 1
        return None

    def set_flag_patch(self, res: K8sResource, name: str, value: str) -> list[dict[str, Any]] | None:
        """An RFC 6902 patch that sets ``--name=value`` (replacing the flag or appending it)."""
        text = f"--{name}={value}"
        f = self.flags.get(name)
        if f is not None:
            if not f.exact:
                return None
            return [{"op": "replace", "path": pointer(f.path), "value": text}]
        if self.append_to is None:
            return None
        return [{"op": "add", "path": pointer(self.append_to) + "/-", "value": text}]

    def remove_flag_patch(self, name: str) -> list[dict[str, Any]] | None:
        f = self.flags.get(name)
        if f is None or not f.exact:
            return None
        return [{"op": "remove", "path": pointer(f.path)}]


#: What makes ``shlex.split`` differ from ``str.split`` on ASCII text: quotes, escapes and the
#: whitespace that only ``str.split`` splits on (vertical tab, form feed, 0x1c-0x1f).
_SHELL_SPECIAL = re.compile(r"[\"'\\\x0b\x0c\x1c-\x1f]")


def shell_split(text: str) -> list[str]:
    """``shlex.split(text)`` (POSIX, no comments), without its pure-Python lexer on plain words."""
    if text.isascii() and _SHELL_SPECIAL.search(text) is None:
        return text.split()
    return shlex.split(text)


def _binary(token: str) -> str | None:
    """The component ``token`` starts, when it is a program: ``kubelet``, ``/usr/bin/kubelet``,
    ``./kube-apiserver``. A flag (``--kubelet-service=kube-system/kubelet``) or an object reference
    (``kube-system/kubelet``, a path without a leading ``/`` or ``.``) names a component, it is not one."""
    if token.startswith("-") or "=" in token:
        return None
    _, slash, base = token.rpartition("/")
    if slash and not token.startswith(("/", "./", "../")):
        return None
    return _ALIASES.get(base) if base in ("kube-apiserver", "kubelet") else None


def _takes_value(word: str) -> bool:
    """``--flag`` without ``=``: the next word may be its value (``--kubelet-service kubelet``); ``--``
    alone ends the options."""
    return word.startswith("-") and len(word) > 2 and "=" not in word


def _tokens(path: Path, command: Any, args: Any) -> list[tuple[str, Path, bool]]:
    """(token, path of its element, element holds just this token) over command then args.

    ``command``/``args`` as :func:`_launch` takes them: a string, a tuple (the list), or ``None``.
    """
    out: list[tuple[str, Path, bool]] = []
    for key, items in (("command", command), ("args", args)):
        if isinstance(items, str):
            items = (items,)
        if not isinstance(items, tuple):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, (str, int, float)) or isinstance(item, bool):
                continue
            text = str(item)
            parts = text.split()
            if len(parts) > 1:
                with contextlib.suppress(ValueError):
                    parts = shell_split(text)
                out.extend((p, (*path, key, i), False) for p in parts)
            elif parts:
                out.append((parts[0], (*path, key, i), True))
    return out


def _mentions_control_plane(container: Container) -> bool:
    """Cheap test before tokenising: no control-plane binary is named in command or args."""
    for key in ("command", "args"):
        items = container.spec.get(key)
        for item in ([items] if isinstance(items, str) else items if isinstance(items, list) else ()):
            if isinstance(item, str) and ("kube" in item):
                return True
    return False


def components(w: Workload, binary: str | None = None) -> Iterator[Component]:
    """Every container of ``w`` that runs kube-apiserver or the kubelet (``binary`` to pick one)."""
    for c in w.containers:
        if not _mentions_control_plane(c):
            continue
        command, args = _as_launch_arg(c.spec.get("command")), _as_launch_arg(c.spec.get("args"))
        if _cacheable(command) and _cacheable(args):
            launch = _launch(c.path, command, args)
        else:
            launch = _launch.__wrapped__(c.path, command, args)
        if launch is None or (binary is not None and launch[0] != binary):
            continue
        found, append_to, flags = launch
        yield Component(c, found, dict(flags), append_to)


def _as_launch_arg(value: Any) -> str | tuple[Any, ...] | None:
    """``command``/``args`` as :func:`_launch` takes them: any other type reads as absent."""
    if isinstance(value, str):
        return value
    return tuple(value) if isinstance(value, list) else None


def _cacheable(value: str | tuple[Any, ...] | None) -> bool:
    """Short enough to remember, and only strings: 1, 1.0 and True are equal keys but other tokens."""
    if isinstance(value, str):
        return len(value) <= _MAX_REMEMBERED_LAUNCH
    return value is None or (all(isinstance(v, str) for v in value)
                             and sum(map(len, value)) <= _MAX_REMEMBERED_LAUNCH)


_MAX_REMEMBERED_LAUNCH = 4096


@lru_cache(maxsize=1024)
def _launch(path: Path, command: str | tuple[Any, ...] | None,
            args: str | tuple[Any, ...] | None) -> tuple[str, Path | None, dict[str, Flag]] | None:
    """(binary, list a missing flag is appended to, flags) of a container at ``path``, or ``None``
    when it runs no control-plane binary. Remembered: the control-plane checks all ask about the
    same containers, and static pods repeat the same command lines. The flags are shared: read only."""
    tokens = _tokens(path, command, args)
    found: str | None = None
    start = 0
    for i, (tok, _, _) in enumerate(tokens):
        if i and _takes_value(tokens[i - 1][0]):
            continue  # the value of a flag, not the program it runs
        b = _binary(tok)
        if b is None and tok.rsplit("/", 1)[-1] == "hyperkube" and i + 1 < len(tokens):
            b = _ALIASES.get(tokens[i + 1][0])
            if b is not None:
                i += 1
        if b is not None:
            found, start = b, i + 1
            break
    if found is None:
        return None
    append_to: Path | None = None
    if all(exact for _, _, exact in tokens):  # not a shell line: flags can be appended to a list
        append_to = (*path, "args") if isinstance(args, tuple) and args else (*path, "command")
        if not isinstance(command, tuple) and append_to == (*path, "command"):
            append_to = None
    return found, append_to, parse_flags(tokens, start)


def parse_flags(tokens: list[tuple[str, Path, bool]], start: int = 0) -> dict[str, Flag]:
    """``--name=value`` / ``--name value`` / boolean ``--name`` flags from ``tokens[start:]``."""
    flags: dict[str, Flag] = {}
    j = start
    while j < len(tokens):
        tok, path, exact = tokens[j]
        j += 1
        if not tok.startswith("--") or len(tok) <= 2:
            continue
        name, eq, value = tok[2:].partition("=")
        if not eq:
            if name in _BOOL_FLAGS:
                value = "true"
            elif j < len(tokens) and not tokens[j][0].startswith("-"):
                value = tokens[j][0]
                exact = False
                j += 1
            else:
                value = "true"
        flags[name] = Flag(value, path, exact)  # the last occurrence wins, as in pflag
    return flags


@dataclass(slots=True)
class KubeletView:
    """What decides a kubelet setting: its flags and, when known, its KubeletConfiguration."""

    flags: dict[str, Flag]
    config: dict[str, Any] | None  # None: not known (not given, or unreadable)

    def setting(self, flag: str, config_path: tuple[str, ...], config_default: Any,
                cli_default: Any) -> tuple[Any, str]:
        """(value, where it came from: flag|config|default|unknown), as the kubelet resolves it:
        a flag wins; else the config file (with its own defaults); else the command-line default,
        unless a ``--config`` file we cannot see decides."""
        f = self.flags.get(flag)
        if f is not None:
            return f.value, "flag"
        if self.config is not None:
            node: Any = self.config
            for step in config_path:
                node = node.get(step) if isinstance(node, dict) else None
            return (config_default if node is None else node), "config"
        if "config" in self.flags:
            return None, "unknown"
        return cli_default, "default"


_MAX_CONFIG = 1 << 20
#: Config files up to this size are remembered by their text (three checks read each KubeletInfo,
#: and host-sensor dumps repeat the same file on every node); larger ones are read each time.
_MAX_CACHED_CONFIG = 1 << 16


def kubelet_info(res: K8sResource) -> KubeletView | None:
    """Kubescape host-sensor ``KubeletInfo``: the kubelet command line and its base64 config file.

    The flags and the config are shared between calls with the same text: read them, never change them.
    """
    cmd = res.get("data", "cmdLine")
    if not isinstance(cmd, str):
        return None
    config: dict[str, Any] | None = None
    content = res.get("data", "configFile", "content")
    if isinstance(content, str) and 0 < len(content) <= _MAX_CONFIG:
        config = _cached_config(content) if len(content) <= _MAX_CACHED_CONFIG else _read_config(content)
    return KubeletView(dict(_cmdline_flags(cmd)), config)


@lru_cache(maxsize=128)
def _cmdline_flags(cmd: str) -> dict[str, Flag]:
    try:
        words = shell_split(cmd)
    except ValueError:
        words = cmd.split()
    path: Path = ("data", "cmdLine")
    tokens = [(w, path, False) for w in words]
    start = next((i + 1 for i, (w, _, _) in enumerate(tokens)
                  if _binary(w) == KUBELET and not (i and _takes_value(words[i - 1]))), 0)
    return parse_flags(tokens, start)


@lru_cache(maxsize=128)
def _cached_config(content: str) -> dict[str, Any] | None:
    return _read_config(content)


def _read_config(content: str) -> dict[str, Any] | None:
    """The KubeletConfiguration in a base64 config file: one YAML (or JSON) mapping, else ``None``.

    Read with the shared safe loader (libyaml, alias-bomb and depth limits); like ``yaml.safe_load``
    it wants exactly one document. Unreadable text means an unknown configuration.
    """
    import base64
    import binascii

    import yaml

    from cnsec.yamlsafe import load_documents

    with contextlib.suppress(binascii.Error, ValueError, yaml.YAMLError, RecursionError):
        text = base64.b64decode(content, validate=False).decode("utf-8", "replace")
        with contextlib.closing(cast(Generator[tuple[Any, int], None, None], load_documents(text))) as docs:
            found = [doc for doc, _ in itertools.islice(docs, 2)]  # a second document: not a config
        if len(found) == 1 and isinstance(found[0], dict):
            return found[0]
    return None


def modes(value: str | None) -> list[str]:
    """A comma-separated mode list (``--authorization-mode=Node,RBAC``) as a list."""
    return [m.strip() for m in (value or "").split(",") if m.strip()]


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "1", "t"}
