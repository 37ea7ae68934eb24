"""What an action is: ``plan(alert) -> [Change]`` (the dry run) and ``apply(change)`` (the act).

A :class:`Change` carries the exact artifact a dry run shows (a manifest, a command line, a file line,
a webhook body) and the data ``apply`` needs, so what was shown is what gets done. ``in_effect`` lets the
engine see that a change is already in place (idempotency) before it spends rate-limit budget on it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from cnsec.errors import CnsecError
from cnsec.model.event import Alert

if TYPE_CHECKING:
    from cnsec.respond.kube import KubeApi

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ActionFailed(CnsecError):
    """The action could not be carried out (recorded as ``failed``; the run goes on)."""

    exit_code = 1


class Skip(Exception):
    """The action does not apply to this alert (no IP in the key, no webhook configured…)."""


@dataclass(slots=True)
class Change:
    action: str
    kind: str  # networkpolicy | nftables | blocklist | iam | rolebinding | pod-label | webhook
    target: str  # where it lands, safe to print (no secrets)
    subject: str  # what it acts on: an IP/CIDR, a user, a pod
    description: str
    artifact: str  # exactly what a dry run shows and --apply does
    artifact_name: str  # file name under --out-dir
    data: dict[str, Any] = field(default_factory=dict)
    artifact_mode: Literal["replace", "append"] = "replace"
    names: tuple[str, ...] = ()  # checked against the allow-list names
    cidrs: tuple[str, ...] = ()  # checked against the allow-list networks
    skip_reason: str | None = None
    #: for a cumulative object (one NetworkPolicy gathering every blocked source): renders the whole
    #: object as it stands after this run, written once to --out-dir instead of once per change
    final: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    _id: str | None = field(default=None, repr=False, compare=False)

    @property
    def change_id(self) -> str:
        """Stable over runs for the same intended change (idempotency of one-shot actions)."""
        if self._id is None:
            ident = {"action": self.action, "kind": self.kind, "target": self.target,
                     "subject": self.subject, "data": self.data}
            blob = json.dumps(ident, sort_keys=True, separators=(",", ":"), default=str).encode()
            self._id = hashlib.sha256(blob).hexdigest()
        return self._id


@dataclass(frozen=True, slots=True)
class ApplyResult:
    changed: bool
    detail: str
    artifact: str | None = None  # what was really sent, when it differs from the planned artifact


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


Runner = Callable[[list[str], float], CommandResult]


def run_command(argv: list[str], timeout: float) -> CommandResult:
    """Run an argument vector (never a shell string); a missing binary is a result, not a crash."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return CommandResult(127, "", f"{argv[0]}: command not found")
    except subprocess.TimeoutExpired:
        return CommandResult(124, "", f"{argv[0]}: timed out after {timeout:g}s")
    return CommandResult(done.returncode, done.stdout, done.stderr)


@dataclass(slots=True)
class ActionContext:
    """What actions may touch. Everything is injectable so tests run against doubles."""

    apply: bool = False
    kube_factory: Callable[[], KubeApi] | None = None
    runner: Runner = run_command
    directory_factory: Callable[[str | None], Any] | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    command_timeout: float = 10.0
    applied_change_ids: set[str] = field(default_factory=set)
    state: dict[Any, Any] = field(default_factory=dict)  # per-run accumulation (cumulative manifests)
    guard: Callable[[Change], str | None] | None = None  # allow-list: a reason to refuse, or None
    _kube: Any = None

    def kube(self) -> KubeApi:
        if self._kube is None:
            if self.kube_factory is None:
                from cnsec.respond.kube import KubernetesApi

                self._kube = KubernetesApi()
            else:
                self._kube = self.kube_factory()
        kube: KubeApi = self._kube
        return kube


# -- parameters --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Param:
    kind: Literal["str", "int", "number", "bool", "str-list", "str-map"]
    default: Any
    help: str
    choices: tuple[str, ...] = ()


def check_params(action_id: str, spec: Mapping[str, Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """Fill defaults and type-check; ``ValueError`` names the parameter and what was expected."""
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ValueError(f"{action_id}: unknown parameter(s) {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(spec)) or 'none'})")
    result: dict[str, Any] = {}
    for name, param in spec.items():
        value = given.get(name, param.default)
        if value is None:
            result[name] = None
            continue
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "str-list": isinstance(value, list) and all(isinstance(v, str) for v in value),
            "str-map": isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in value.items()),
        }[param.kind]
        if not ok:
            raise ValueError(f"{action_id}: parameter {name} must be {param.kind}, got {value!r}")
        if param.choices:
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in param.choices]
            if bad:
                raise ValueError(f"{action_id}: parameter {name}: {', '.join(map(str, bad))} not one of "
                                 f"{', '.join(param.choices)}")
        result[name] = list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) \
            else value
    return result


class Action:
    """Subclass, set ``id``/``description``/``params``, and instantiate once as ``ACTION`` in the module."""

    id: ClassVar[str]
    description: ClassVar[str]
    disruptive: ClassVar[bool] = True  # counts against the rate limit
    params: ClassVar[dict[str, Param]] = {}

    def validate(self, given: Mapping[str, Any]) -> dict[str, Any]:
        return check_params(self.id, self.params, given)

    def plan(self, alert: Alert, params: dict[str, Any], ctx: ActionContext) -> list[Change]:
        raise NotImplementedError

    def in_effect(self, change: Change, ctx: ActionContext) -> bool:
        return False

    def apply(self, change: Change, ctx: ActionContext) -> ApplyResult:
        raise NotImplementedError


# -- helpers shared by actions -----------------------------------------------------------------------
#: Set on every object cnsec creates; an existing object without it is someone else's and never touched.
MANAGED_BY = {"app.kubernetes.io/managed-by": "cnsec"}


def managed_by_cnsec(obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in MANAGED_BY.items())


_TOKEN_SPLIT = re.compile(r"[\s,;|=@\"'()\[\]{}]+")


def canonical_network(net: Network) -> Network:
    """``net`` with IPv4 written as IPv4: an IPv4-mapped IPv6 network (``::ffff:10.96.0.1``, as dual-stack
    sockets and proxies log IPv4 peers) becomes the IPv4 network it is, so the allow-list, the
    cluster CIDRs and the blocklist compare one form of each address."""
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96:
        mapped = net.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network(f"{mapped}/{net.prefixlen - 96}")
    return net


def parse_network(text: str) -> Network:
    """``ipaddress.ip_network`` (host bits allowed) in :func:`canonical_network` form; ValueError if not one."""
    return canonical_network(ipaddress.ip_network(text, strict=False))


def as_network(text: str) -> Network | None:
    """An IP or CIDR (``[v6]:port`` and ``v4:port`` forms too), or ``None``."""
    text = text.strip()
    if not text:
        return None
    candidates = [text]
    if text.count(":") == 1 and "." in text:  # 203.0.113.7:443
        candidates.append(text.split(":", 1)[0])
    for candidate in candidates:
        try:
            net = parse_network(candidate)
        except ValueError:
            continue
        if net.network_address.is_unspecified and net.prefixlen == net.max_prefixlen:
            return None  # "::" or "0.0.0.0" is nobody's address
        return net
    return None


def networks_in_text(text: str) -> list[Network]:
    """Every IP/CIDR token in an alert key like ``src_ip=203.0.113.7`` or ``203.0.113.0/24``."""
    found: list[Network] = []
    direct = as_network(text)
    if direct is not None:
        return [direct]
    for token in _TOKEN_SPLIT.split(text):
        net = as_network(token)
        if net is not None and net not in found:
            found.append(net)
    return found


def walk_fields(value: Any, names: set[str], depth: int = 0) -> Iterable[Any]:
    """Values of any field called one of ``names`` inside nested evidence (bounded depth)."""
    if depth > 5:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if key in names:
                if isinstance(item, list):
                    yield from item
                else:
                    yield item
            elif isinstance(item, dict | list):
                yield from walk_fields(item, names, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from walk_fields(item, names, depth + 1)


def slug(text: str, limit: int = 40) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return cleaned[:limit].strip("-") or "x"


def to_yaml(obj: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: 10x faster
    text: str = yaml.dump(obj, Dumper=dumper, sort_keys=False, default_flow_style=False)
    return text
