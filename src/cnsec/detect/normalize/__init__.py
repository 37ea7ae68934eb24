"""One event shape for every source: timestamps, the entity an alert is about, Sigma field mappings.

Normalising is lazy on purpose: rules match the original fields (``Event.data``), and the time and key
of an event are only computed for events that matched a rule, so the hot loop allocates nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from cnsec.detect.fields import cached_getter, first_text

#: the times an alert can carry: those ``datetime`` can write (years 1 to 9999); a log's time outside
#: them (a corrupt or hostile field) counts as no usable time
MIN_TIME = -62135596800.0
MAX_TIME = 253402300799.0


def parse_time(value: Any) -> float | None:
    """RFC 3339 (any fraction length, ``Z`` or offset) or epoch s/ms/µs/ns → epoch seconds (UTC),
    None for anything else or a time outside years 1 to 9999 (see :data:`MIN_TIME`)."""
    t = _parse_time(value)
    return t if t is not None and MIN_TIME <= t <= MAX_TIME else None


def _parse_time(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
        if v > 1e17:
            return v / 1e9
        if v > 1e14:
            return v / 1e6
        if v > 1e11:
            return v / 1e3
        return v
    if not isinstance(value, str) or not value:
        return None
    try:  # the common case: RFC 3339 with at most 6 fraction digits (Python 3.11 reads the Z)
        dt = datetime.fromisoformat(value)
        if dt.tzinfo is not None:
            return dt.timestamp()
    except ValueError:
        pass
    s = value.strip()
    if s.isascii() and s.replace(".", "", 1).isdigit():  # "²" is a digit to isdigit, not to float
        return _parse_time(float(s))
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dot = s.find(".")
    if dot != -1:  # Python wants at most 6 fraction digits
        end = dot + 1
        while end < len(s) and s[end].isdigit():
            end += 1
        frac = s[dot + 1:end][:6]
        s = s[:dot] + ("." + frac if frac else "") + s[end:]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        from datetime import UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


@dataclass(frozen=True)
class SourceKind:
    """What we know about one source: how to find its time and key, and how Sigma names its fields."""

    name: str
    time_fields: tuple[str, ...]
    key_fields: tuple[str, ...]
    #: Sigma (product, service) pairs whose rules run on this source
    logsources: tuple[tuple[str, str], ...] = ()
    field_map: dict[str, str] = field(default_factory=dict)
    strip_prefixes: tuple[str, ...] = ()

    def map_field(self, name: str) -> str:
        if name in self.field_map:
            return self.field_map[name]
        for prefix in self.strip_prefixes:
            if name.startswith(prefix):
                return name[len(prefix):]
        return name


SOURCES: dict[str, SourceKind] = {
    s.name: s
    for s in (
        SourceKind(
            "k8s-audit",
            ("stageTimestamp", "requestReceivedTimestamp", "timestamp", "metadata.creationTimestamp"),
            ("user=user.username", "ip=sourceIPs"),
            (("kubernetes", "audit"),),
            {
                # Sigma's kubernetes/audit taxonomy names a few fields by their short name
                "apiGroup": "objectRef.apiGroup",
                "capabilities": "requestObject.spec.containers.securityContext.capabilities.add",
                "hostPath": "requestObject.spec.volumes.hostPath.path",
                "namespace": "objectRef.namespace",
                "resource": "objectRef.resource",
                "subresource": "objectRef.subresource",
                "username": "user.username",
            },
        ),
        SourceKind(
            "cloudtrail",
            ("eventTime", "@timestamp"),
            ("principal=userIdentity.arn", "principal=userIdentity.principalId",
             "ip=sourceIPAddress"),
            (("aws", "cloudtrail"),),
        ),
        SourceKind(
            "gcp-audit",
            ("timestamp", "receiveTimestamp"),
            ("principal=protoPayload.authenticationInfo.principalEmail",
             "ip=protoPayload.requestMetadata.callerIp"),
            (("gcp", "gcp.audit"),),
            {"gcp.audit.method_name": "protoPayload.methodName"},
            ("data.",),
        ),
        SourceKind(
            "falco",
            ("time", "output_fields.evt.time"),
            ("pod=output_fields.k8s.pod.name", "container=output_fields.container.id",
             "host=hostname"),
            (("falco", ""),),
        ),
        SourceKind("json", ("timestamp", "@timestamp", "time", "eventTime", "ts"),
                   ("user=user", "ip=src_ip", "host=host")),
    )
}


def source_for_logsource(product: str | None, service: str | None) -> str | None:
    """Which of our sources a Sigma ``logsource`` runs on (``None``: a log we do not read)."""
    prod = (product or "").lower()
    serv = (service or "").lower()
    for kind in SOURCES.values():
        for p, s in kind.logsources:
            if p == prod and (not s or s == serv):
                return kind.name
    return None


@cache
def _time_getters(fields: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(cached_getter(f) for f in fields)


@cache
def _key_getters(specs: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    out = []
    for spec in specs:
        label, path = split_key_field(spec)
        out.append((label, cached_getter(path)))
    return tuple(out)


def event_time(kind: SourceKind, data: dict[str, Any]) -> float | None:
    return time_from(_time_getters(kind.time_fields), data)


def time_getters(fields: tuple[str, ...]) -> tuple[Any, ...]:
    """Compiled look-ups for :func:`time_from` (compile once, use per event)."""
    return _time_getters(fields)


def time_from(getters: tuple[Any, ...], data: dict[str, Any]) -> float | None:
    for get in getters:
        t = parse_time(first_text(data, get))
        if t is not None:
            return t
    return None


def key_getters(specs: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """Compiled look-ups for :func:`key_from`."""
    return _key_getters(specs)


def key_from(getters: tuple[tuple[str, Any], ...], data: dict[str, Any]) -> str:
    for label, get in getters:
        t = first_text(data, get)
        if t:
            return f"{label}={t}"
    return "-"


def split_key_field(spec: str) -> tuple[str, str]:
    """``"user=user.username"`` → (label, path); a bare path is labelled by its last component."""
    if "=" in spec:
        label, path = spec.split("=", 1)
        return label.strip(), path.strip()
    return spec.rsplit(".", 1)[-1], spec


def event_key(key_fields: tuple[str, ...], data: dict[str, Any]) -> str:
    """The entity an alert is about, as ``label=value`` (``user=alice``, ``ip=203.0.113.7``)."""
    return key_from(_key_getters(key_fields), data)


KeyFn = Callable[[dict[str, Any]], str]
