"""SOPS-style per-value encryption of YAML, JSON and ``.env`` files.

Keys and structure stay readable for review; each scalar value is sealed on its own with AES-256-GCM
(random 96-bit nonce) and its path (RFC 6901 pointer) + type as AAD, so a value moved to another path
fails. An HMAC over every value, sealed or clear, in document order, makes removing, adding, reordering
or swapping values fail too. The data key is wrapped exactly like a sealed file's (same providers and
stanzas) and stored, with the MAC, under a top-level ``cnsec`` entry.

YAML is edited *in place* through the parser's positions (PyYAML marks), never re-dumped: comments,
quoting and layout survive, and decrypting restores the original text byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cnsec.data.crypto import aead
from cnsec.data.crypto._util import b64d, b64e, canonical_context, canonical_json, hkdf
from cnsec.data.crypto.errors import (
    NotSealedError,
    TamperedDataError,
    TamperedHeaderError,
    UnsupportedFormatError,
    WrongContextError,
)
from cnsec.data.crypto.providers import KeyWrapper, Stanza, Unwrappers
from cnsec.errors import InputError, UsageError
from cnsec.model.source import Source

FORMATS = ("yaml", "json", "env")
META_KEY = "cnsec"
#: 2: in YAML the MAC also covers aliases, anchors, tags, collections and clear values as written
#: (version 1 covered scalar values only, so swapping ``*prod`` for ``*test`` or adding ``<<: *base``
#: went unnoticed). Version 1 files still decrypt unless they contain an alias, which 1 cannot vouch for.
VALUES_VERSION = 2
READABLE_VERSIONS = (1, 2)
VALUES_ALG = "AES256_GCM"
ENC_RE = re.compile(r"^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),"
                    r"tag:([A-Za-z0-9+/=]+),type:([a-z]+)\]$")


def detect_format(name: str, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    lower = name.lower()
    base = lower.rsplit("/", 1)[-1]
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    if lower.endswith(".json"):
        return "json"
    if base == ".env" or base.startswith(".env.") or lower.endswith(".env"):
        return "env"
    raise UsageError(f"cannot tell the format of {name!r} from its name: use --format yaml|json|env")


def pointer(parent: str, key: str) -> str:
    return parent + "/" + key.replace("~", "~0").replace("/", "~1")


# -- --only patterns ---------------------------------------------------------------------------
def compile_only(patterns: Sequence[str] | None) -> Callable[[str], bool]:
    """Glob patterns over value paths: ``*`` one segment, ``**`` any depth; ``name`` = ``**/name``.

    Translated to RE2 (linear time), as every user-supplied pattern must be.
    """
    if not patterns:
        return lambda path: True
    import re2

    parts = []
    for pattern in patterns:
        if pattern.startswith("**"):
            pattern = "/" + pattern
        elif not pattern.startswith("/"):
            pattern = "/**/" + pattern
        out = []
        i = 0
        while i < len(pattern):
            if pattern.startswith("/**/", i):
                out.append("(?:/.*)?/")
                i += 4
            elif pattern.startswith("**", i):
                out.append(".*")
                i += 2
            elif pattern[i] == "*":
                out.append("[^/]*")
                i += 1
            elif pattern[i] == "?":
                out.append("[^/]")
                i += 1
            else:
                out.append(re.escape(pattern[i]))
                i += 1
        parts.append("".join(out))
    compiled = re2.compile("^(?:" + "|".join(parts) + ")$")
    return lambda path: compiled.match(path) is not None


# -- the envelope shared by all three formats ---------------------------------------------------
@dataclass
class _Sealer:
    value_key: AESGCM
    mac: Any  # hmac object

    def seal(self, path: str, kind: str, plain: str) -> str:
        blob = aead.seal(self.value_key, plain.encode("utf-8"), _value_aad(path, kind))
        nonce, sealed = blob[:aead.NONCE], blob[aead.NONCE:]
        return (f"ENC[AES256_GCM,data:{b64e(sealed[:-16])},iv:{b64e(nonce)},tag:{b64e(sealed[-16:])},"
                f"type:{kind}]")

    def open(self, path: str, token: str, source: Source) -> str:
        match = ENC_RE.match(token)
        if match is None:
            raise TamperedDataError(f"malformed sealed value at {path}", source)
        try:
            data, nonce, tag = (b64d(match.group(i)) for i in (1, 2, 3))
            plain = aead.open_(self.value_key, nonce, data + tag, _value_aad(path, match.group(4)))
            return plain.decode("utf-8")
        except (TamperedDataError, ValueError, UnicodeDecodeError):
            raise TamperedDataError(f"the value at {path} fails authentication: modified, or moved "
                                    f"from another path", source) from None

    def add(self, path: str, sealed: bool, text: str) -> None:
        self._update(path, b"s" if sealed else b"c", text)

    def add_node(self, node: _YamlNode) -> None:
        """Format 2: YAML structure that is not a scalar value (an alias, a collection, properties)."""
        self._update(node.path, b"n" + node.kind.encode("ascii"), node.text)

    def _update(self, path: str, kind: bytes, text: str) -> None:
        for part in (path.encode("utf-8"), kind, text.encode("utf-8")):
            self.mac.update(struct.pack(">Q", len(part)) + part)


def _value_aad(path: str, kind: str) -> bytes:
    return b"cnsec/v1 value\x00" + path.encode("utf-8") + b"\x00" + kind.encode("ascii")


def _mac_base(meta: Mapping[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in meta.items() if k not in ("mac", "stanzas")})


def _keys(dek: bytes, salt: bytes, context: Mapping[str, str]) -> tuple[bytes, bytes, bytes]:
    return (hkdf(dek, salt, b"cnsec/v1 values\x00" + canonical_context(context)),
            hkdf(dek, salt, b"cnsec/v1 values-mac"), hkdf(dek, salt, b"cnsec/v1 context"))


def _new_envelope(fmt: str, wrappers: Sequence[KeyWrapper], context: Mapping[str, str],
                  only: Sequence[str] | None, trailing_newline: bool) -> tuple[dict[str, Any], _Sealer]:
    if not wrappers:
        raise UsageError("no key to encrypt with: give a key name or a recipient")
    dek, salt = os.urandom(32), os.urandom(32)
    value_key, mac_key, commit_key = _keys(dek, salt, context)
    meta: dict[str, Any] = {
        "version": VALUES_VERSION, "alg": VALUES_ALG, "format": fmt, "salt": b64e(salt),
        "context_keys": sorted(context),
        "context_commitment": b64e(hmac.new(commit_key, canonical_context(context), hashlib.sha256).digest()),
        "only": list(only) if only else None, "trailing_newline": trailing_newline,
        "stanzas": [w.wrap(dek, salt) for w in wrappers],
    }
    sealer = _Sealer(AESGCM(value_key), hmac.new(mac_key, _mac_base(meta), hashlib.sha256))
    return meta, sealer


def _check_meta(meta: Any, source: Source) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise TamperedHeaderError("the cnsec metadata is malformed", source)
    if meta.get("version") not in READABLE_VERSIONS or meta.get("alg") != VALUES_ALG:
        raise UnsupportedFormatError(f"per-value format {meta.get('version')!r}/{meta.get('alg')!r} "
                                     f"is not supported", source)
    for name in ("salt", "context_commitment", "mac"):
        if not isinstance(meta.get(name), str):
            raise TamperedHeaderError(f"the cnsec metadata lacks {name!r}", source)
    stanzas, keys = meta.get("stanzas"), meta.get("context_keys")
    if not isinstance(stanzas, list) or not all(isinstance(s, dict) for s in stanzas) \
            or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise TamperedHeaderError("the cnsec metadata is malformed", source)
    return meta


def _open_envelope(meta: dict[str, Any], unwrappers: Unwrappers, context: Mapping[str, str] | None,
                   source: Source) -> tuple[bytes, _Sealer]:
    try:
        salt = b64d(meta["salt"])
        commitment = b64d(meta["context_commitment"])
    except ValueError:
        raise TamperedHeaderError("the cnsec metadata is malformed", source) from None
    ctx = dict(context or {})
    if context is not None and sorted(ctx) != meta["context_keys"]:
        raise WrongContextError(f"wrong encryption context: the values were sealed with context keys "
                                f"[{', '.join(map(str, meta['context_keys'])) or 'none'}], "
                                f"got [{', '.join(sorted(ctx)) or 'none'}]", source)
    dek, _ = unwrappers.unwrap(meta["stanzas"], salt)
    value_key, mac_key, commit_key = _keys(dek, salt, ctx)
    if context is not None and not hmac.compare_digest(
            hmac.new(commit_key, canonical_context(ctx), hashlib.sha256).digest(), commitment):
        raise WrongContextError(f"wrong encryption context: the values given for "
                                f"[{', '.join(meta['context_keys'])}] do not match", source)
    return dek, _Sealer(AESGCM(value_key), hmac.new(mac_key, _mac_base(meta), hashlib.sha256))


def _verify_mac(meta: Mapping[str, Any], sealer: _Sealer, source: Source) -> None:
    try:
        expected = b64d(meta["mac"])
    except ValueError:
        raise TamperedHeaderError("the cnsec metadata is malformed (mac)", source) from None
    if not hmac.compare_digest(sealer.mac.digest(), expected):
        raise TamperedDataError("the values' MAC does not match: values were removed, added, reordered, "
                                "swapped or changed", source)


# -- YAML --------------------------------------------------------------------------------------
@dataclass
class _YamlScalar:
    path: str
    start: int
    end: int
    value: str
    style: str | None
    flow: bool
    line: int
    needs_token: bool  # anchored or tagged: the token starts after the node properties


@dataclass
class _YamlNode:
    """What format 2's MAC covers besides scalar values: ``*`` an alias (text: its anchor), ``{``/``[``
    a mapping/sequence, ``&`` a scalar's properties (text: anchor and tag)."""

    path: str
    kind: str
    text: str


def _properties(event: Any) -> str:
    return f"{event.anchor or ''}\x00{event.tag or ''}"


@dataclass
class _YamlDoc:
    scalars: list[_YamlScalar]
    items: list[_YamlScalar | _YamlNode]  # scalars and nodes in document order
    root: str | None  # "map" | "seq" | "scalar" | None (empty)
    root_flow: bool
    meta_start: int | None  # index of the line holding the top-level cnsec key
    meta_last: bool
    doc_end: int | None = None  # index of an explicit "..." document end marker


def _yaml_walk(text: str, source_name: str, unique_keys: bool = False) -> _YamlDoc:
    """The document's scalars and structure. ``unique_keys`` (on encrypt): a key given twice in one
    mapping is an error, not the silent last-one-wins of YAML loaders."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    scalars: list[_YamlScalar] = []
    items: list[_YamlScalar | _YamlNode] = []
    stack: list[list[Any]] = []  # [kind, path, expecting_key, key, index, flow]
    root: str | None = None
    root_flow = False
    docs = 0
    meta_start: int | None = None
    meta_last = True
    in_meta = False
    doc_end: int | None = None

    def child(top: list[Any]) -> str:
        return pointer(top[1], top[3] if top[0] == "map" else str(top[4]))

    def advance() -> None:
        if stack:
            top = stack[-1]
            if top[0] == "map":
                top[2] = True
            else:
                top[4] += 1

    def line(mark: Any) -> int | None:
        return int(mark.line) + 1 if mark is not None else None

    def index(mark: Any) -> int:
        return int(mark.index) if mark is not None else 0

    try:
        for ev in yaml.parse(text, Loader=loader):
            if isinstance(ev, yaml.DocumentStartEvent):
                docs += 1
                if docs > 1:
                    raise InputError("only one YAML document per file can be encrypted",
                                     Source(source_name, line(ev.start_mark)))
            elif isinstance(ev, yaml.DocumentEndEvent):
                if ev.explicit:
                    doc_end = text.rfind("\n", 0, index(ev.start_mark)) + 1
            elif isinstance(ev, yaml.CollectionStartEvent):
                flow = bool(ev.flow_style)
                if stack:
                    top = stack[-1]
                    if top[0] == "map" and top[2]:
                        raise InputError("complex (non-scalar) mapping keys are not supported",
                                         Source(source_name, line(ev.start_mark)))
                    path, flow = child(top), flow or top[5]
                else:
                    path, root, root_flow = "", ("map" if isinstance(ev, yaml.MappingStartEvent)
                                                 else "seq"), flow
                kind = "map" if isinstance(ev, yaml.MappingStartEvent) else "seq"
                if stack and not in_meta:  # the root is a block mapping, on decrypt the meta's too
                    items.append(_YamlNode(path, "{" if kind == "map" else "[", _properties(ev)))
                stack.append([kind, path, True, None, 0, flow, set()])
            elif isinstance(ev, yaml.CollectionEndEvent):
                stack.pop()
                if len(stack) == 1 and in_meta:
                    in_meta = False
                advance()
            elif isinstance(ev, yaml.ScalarEvent):
                if not stack:
                    root = "scalar"
                    continue
                top = stack[-1]
                if top[0] == "map" and top[2]:
                    top[3], top[2] = ev.value, False
                    if unique_keys and not in_meta:
                        _unique(top[6], ev.value, Source(source_name, line(ev.start_mark)))
                    if len(stack) == 1:
                        if ev.value == META_KEY:
                            meta_start = text.rfind("\n", 0, index(ev.start_mark)) + 1
                            in_meta = True
                        elif meta_start is not None:
                            meta_last = False
                    continue
                if in_meta:
                    if len(stack) == 1:
                        in_meta = False
                    advance()
                    continue
                start = index(ev.start_mark)
                scalar = _YamlScalar(child(top), start, index(ev.end_mark), ev.value, ev.style, top[5],
                                     line(ev.start_mark) or 0, text.startswith(("&", "!"), start))
                scalars.append(scalar)
                items.append(scalar)
                if ev.anchor or ev.tag:
                    items.append(_YamlNode(scalar.path, "&", _properties(ev)))
                advance()
            elif isinstance(ev, yaml.AliasEvent):
                top = stack[-1]
                if top[0] == "map" and top[2]:
                    top[3], top[2] = "*" + str(ev.anchor), False
                    if unique_keys and not in_meta:
                        _unique(top[6], top[3], Source(source_name, line(ev.start_mark)))
                    continue
                if in_meta and len(stack) == 1:
                    in_meta = False
                elif not in_meta:
                    items.append(_YamlNode(child(top), "*", str(ev.anchor)))
                advance()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(f"invalid YAML: {exc.problem or exc.context}",
                         Source(source_name, mark.line + 1 if mark else None)) from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines() or [type(exc).__name__]
        raise InputError(f"invalid YAML: {first[0]}", Source(source_name)) from None
    if any(s.needs_token for s in scalars):
        _fix_token_starts(text, scalars, loader)
    for scalar in scalars:
        if scalar.style in ("|", ">"):
            raw = text[scalar.start:scalar.end]
            scalar.end = scalar.start + len(raw.rstrip(" \t\r\n"))
    return _YamlDoc(scalars, items, root, root_flow, meta_start, meta_last, doc_end)


def _unique(seen: set[str], key: str, source: Source) -> None:
    if key in seen:
        raise InputError(f"the key {key[:80]!r} appears twice in one mapping (a loader would keep the "
                         f"last value and silently drop the first)", source)
    seen.add(key)


def _fix_token_starts(text: str, scalars: list[_YamlScalar], loader: Any) -> None:
    """Anchored or tagged scalars: seal only the scalar token, keep ``&anchor !tag`` in clear."""
    import yaml

    starts = {tok.end_mark.index: tok.start_mark.index for tok in yaml.scan(text, Loader=loader)
              if isinstance(tok, yaml.ScalarToken)}
    for scalar in scalars:
        if scalar.needs_token and scalar.end in starts:
            scalar.start = starts[scalar.end]


def _yaml_meta_text(meta: Mapping[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump({META_KEY: dict(meta)}, default_flow_style=False, sort_keys=False,
                              width=1 << 16))


def _yaml_encrypt(text: str, source_name: str, meta: dict[str, Any], sealer: _Sealer,
                  selected: Callable[[str], bool]) -> str:
    doc = _yaml_walk(text, source_name, unique_keys=True)
    if doc.meta_start is not None:
        raise UsageError("already encrypted: it has a top-level 'cnsec' key", Source(source_name))
    if doc.root not in ("map", None) or doc.root_flow:
        raise InputError("per-value encryption needs a top-level block mapping (key: value lines)",
                         Source(source_name, 1))
    out: list[str] = []
    pos = 0
    version = meta["version"]
    for scalar in doc.items:
        if isinstance(scalar, _YamlNode):
            if version >= 2:
                sealer.add_node(scalar)
            continue
        raw = text[scalar.start:scalar.end]
        if ENC_RE.match(scalar.value):
            raise UsageError(f"already encrypted: the value at {scalar.path} is sealed",
                             Source(source_name, scalar.line))
        if raw and selected(scalar.path):
            token = sealer.seal(scalar.path, "yaml", raw)
            out.append(text[pos:scalar.start])
            out.append(f'"{token}"' if scalar.flow else token)
            pos = scalar.end
            sealer.add(scalar.path, True, raw)
        else:
            sealer.add(scalar.path, False, raw if version >= 2 else scalar.value)  # as written: quotes type it
    end = len(text) if doc.doc_end is None else doc.doc_end
    out.append(text[pos:end])
    body = "".join(out)
    if body and not body.endswith("\n"):
        body += "\n"
    meta["mac"] = b64e(sealer.mac.digest())
    return body + _yaml_meta_text(meta) + text[end:]


def _yaml_split(text: str, source_name: str) -> tuple[_YamlDoc, dict[str, Any], str]:
    import yaml

    doc = _yaml_walk(text, source_name)
    if doc.meta_start is None:
        raise NotSealedError("no 'cnsec' metadata: not a per-value encrypted file", Source(source_name))
    if not doc.meta_last:
        raise TamperedHeaderError("the 'cnsec' metadata must be the last top-level key",
                                  Source(source_name))
    line = text.count("\n", 0, doc.meta_start) + 1
    try:
        end = len(text) if doc.doc_end is None or doc.doc_end < doc.meta_start else doc.doc_end
        loaded = yaml.safe_load(text[doc.meta_start:end])
    except yaml.YAMLError:
        raise TamperedHeaderError("the cnsec metadata is malformed", Source(source_name, line)) from None
    meta = _check_meta(loaded.get(META_KEY) if isinstance(loaded, dict) else None, Source(source_name, line))
    rest = "" if doc.doc_end is None or doc.doc_end < doc.meta_start else text[doc.doc_end:]
    return doc, meta, text[:doc.meta_start] + rest


def _yaml_decrypt(text: str, source_name: str, unwrappers: Unwrappers,
                  context: Mapping[str, str] | None) -> str:
    doc, meta, body = _yaml_split(text, source_name)
    _, sealer = _open_envelope(meta, unwrappers, context, Source(source_name))
    version = meta["version"]
    out: list[str] = []
    pos = 0
    for scalar in doc.items:
        if isinstance(scalar, _YamlNode):
            if version >= 2:
                sealer.add_node(scalar)
            elif scalar.kind == "*":
                raise TamperedDataError(
                    f"the alias at {scalar.path or '/'} is not covered by the MAC of format 1 (cnsec before "
                    f"format 2 did not authenticate aliases and merge keys), so the values it pulls in "
                    f"cannot be trusted: decrypt it with the cnsec that wrote it and re-encrypt",
                    Source(source_name))
            continue
        if ENC_RE.match(scalar.value):
            raw = sealer.open(scalar.path, scalar.value, Source(source_name, scalar.line))
            out.append(body[pos:scalar.start])
            out.append(raw)
            pos = scalar.end
            sealer.add(scalar.path, True, raw)
        else:
            sealer.add(scalar.path, False, text[scalar.start:scalar.end] if version >= 2 else scalar.value)
    _verify_mac(meta, sealer, Source(source_name))
    out.append(body[pos:])
    result = "".join(out)
    if meta.get("trailing_newline") is False and result.endswith("\n"):
        result = result[:-1]
    return result


# -- JSON --------------------------------------------------------------------------------------
#: Deeper JSON is refused: the value walk recurses, and no configuration file comes close.
MAX_JSON_DEPTH = 200


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON parsers keep the last of two equal keys: sealing would silently drop the first value."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _second_key_line(text: str, key: str) -> int | None:
    """Where a duplicated key is given again (the parser's hook sees values, not positions): the
    second place it is written as a key; a key escaped differently in the text is not found (None)."""
    found = [m.start() for m in re.finditer(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:", text)]
    return text.count("\n", 0, found[1]) + 1 if len(found) > 1 else None


def _json_depth_ok(data: Any) -> bool:
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return False
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


class _NotFinite(ValueError):
    pass


def _finite(literal: str) -> float:
    """``1e400`` would come back as ``Infinity``, which is not JSON: refuse it rather than corrupt it."""
    value = float(literal)
    if value in (float("inf"), float("-inf")) or value != value:
        raise _NotFinite(literal)
    return value


def _no_constant(literal: str) -> float:
    raise _NotFinite(literal)


def _json_load(text: str, source_name: str) -> Any:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_finite,
                          parse_constant=_no_constant)
    except _NotFinite as exc:
        raise InputError(f"invalid JSON: the number {str(exc)[:40]} is not finite",
                         Source(source_name)) from None
    except _DuplicateKey as exc:
        raise InputError(f"invalid JSON: the key {str(exc)[:80]!r} appears twice in one object",
                         Source(source_name, _second_key_line(text, str(exc)))) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", Source(source_name, exc.lineno)) from None
    except RecursionError:
        raise InputError(f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels",
                         Source(source_name)) from None
    if not _json_depth_ok(data):
        raise InputError(f"invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels", Source(source_name))
    return data


def _json_map(value: Any, path: str, fn: Callable[[str, Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: _json_map(v, pointer(path, str(k)), fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_map(v, pointer(path, str(i)), fn) for i, v in enumerate(value)]
    return fn(path, value)


def _json_dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _json_encrypt(text: str, source_name: str, meta: dict[str, Any], sealer: _Sealer,
                  selected: Callable[[str], bool]) -> str:
    data = _json_load(text, source_name)
    if not isinstance(data, dict):
        raise InputError("per-value encryption needs a top-level JSON object", Source(source_name, 1))
    if META_KEY in data:
        raise UsageError("already encrypted: it has a top-level 'cnsec' key", Source(source_name))

    def seal(path: str, value: Any) -> Any:
        raw = json.dumps(value, ensure_ascii=False)
        if isinstance(value, str) and ENC_RE.match(value):
            raise UsageError(f"already encrypted: the value at {path} is sealed", Source(source_name))
        if selected(path):
            sealer.add(path, True, raw)
            return sealer.seal(path, "json", raw)
        sealer.add(path, False, raw)
        return value

    result = _json_map(data, "", seal)
    meta["mac"] = b64e(sealer.mac.digest())
    result[META_KEY] = meta
    return _json_dump(result)


def _json_decrypt(text: str, source_name: str, unwrappers: Unwrappers,
                  context: Mapping[str, str] | None) -> str:
    data = _json_load(text, source_name)
    if not isinstance(data, dict) or META_KEY not in data:
        raise NotSealedError("no 'cnsec' metadata: not a per-value encrypted file", Source(source_name))
    meta = _check_meta(data.pop(META_KEY), Source(source_name))
    _, sealer = _open_envelope(meta, unwrappers, context, Source(source_name))

    def unseal(path: str, value: Any) -> Any:
        if isinstance(value, str) and ENC_RE.match(value):
            raw = sealer.open(path, value, Source(source_name))
            sealer.add(path, True, raw)
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                raise TamperedDataError(f"the value at {path} is not JSON", Source(source_name)) from None
        sealer.add(path, False, json.dumps(value, ensure_ascii=False))
        return value

    result = _json_map(data, "", unseal)
    _verify_mac(meta, sealer, Source(source_name))
    return _json_dump(result)


# -- .env --------------------------------------------------------------------------------------
ENV_LINE = re.compile(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_.\-]*)(\s*=\s*)(.*?)(\s*)$")


def _env_lines(text: str, source_name: str) -> Iterable[tuple[int, str, re.Match[str] | None]]:
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        content = line.rstrip("\r\n")
        stripped = content.strip()
        if not stripped or stripped.startswith("#"):
            yield number, line, None
            continue
        match = ENV_LINE.match(content)
        if match is None:
            raise InputError("not a KEY=VALUE line", Source(source_name, number))
        value = match.group(4)
        if value[:1] in ("'", '"') and (len(value) < 2 or not value.endswith(value[0])) \
                and value.count(value[0]) < 2:
            raise InputError("multi-line quoted values are not supported", Source(source_name, number))
        yield number, line, match


def _env_meta_line(meta: Mapping[str, Any]) -> str:
    blob = base64.urlsafe_b64encode(canonical_json(dict(meta))).decode("ascii").rstrip("=")
    return f"{META_KEY}={blob}\n"


def _env_encrypt(text: str, source_name: str, meta: dict[str, Any], sealer: _Sealer,
                 selected: Callable[[str], bool]) -> str:
    out: list[str] = []
    seen: set[str] = set()
    for number, line, match in _env_lines(text, source_name):
        if match is None:
            out.append(line)
            continue
        key, value = match.group(2), match.group(4)
        _unique(seen, key, Source(source_name, number))
        if key == META_KEY:
            raise UsageError("already encrypted: it has a 'cnsec=' line", Source(source_name, number))
        path = "/" + key
        if ENC_RE.match(value):
            raise UsageError(f"already encrypted: the value of {key} is sealed", Source(source_name, number))
        if value and selected(path):
            sealer.add(path, True, value)
            value = sealer.seal(path, "env", value)
        else:
            sealer.add(path, False, value)
        ending = line[len(line.rstrip("\r\n")):]
        out.append(match.group(1) + key + match.group(3) + value + match.group(5) + ending)
    body = "".join(out)
    if body and not body.endswith("\n"):
        body += "\n"
    meta["mac"] = b64e(sealer.mac.digest())
    return body + _env_meta_line(meta)


def _env_split(text: str, source_name: str) -> tuple[list[tuple[int, str, re.Match[str] | None]],
                                                      dict[str, Any]]:
    lines = list(_env_lines(text, source_name))
    metas = [(n, m) for n, _, m in lines if m is not None and m.group(2) == META_KEY]
    if not metas:
        raise NotSealedError("no 'cnsec=' metadata line: not a per-value encrypted file",
                             Source(source_name))
    number, match = metas[-1]
    blob = match.group(4)
    try:
        meta = json.loads(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    except (ValueError, binascii.Error):
        raise TamperedHeaderError("the cnsec metadata is malformed", Source(source_name, number)) from None
    return [x for x in lines if not (x[2] is not None and x[2].group(2) == META_KEY)], \
        _check_meta(meta, Source(source_name, number))


def _env_decrypt(text: str, source_name: str, unwrappers: Unwrappers,
                 context: Mapping[str, str] | None) -> str:
    lines, meta = _env_split(text, source_name)
    _, sealer = _open_envelope(meta, unwrappers, context, Source(source_name))
    out: list[str] = []
    for number, line, match in lines:
        if match is None:
            out.append(line)
            continue
        key, value = match.group(2), match.group(4)
        path = "/" + key
        if ENC_RE.match(value):
            value = sealer.open(path, value, Source(source_name, number))
            sealer.add(path, True, value)
        else:
            sealer.add(path, False, value)
        ending = line[len(line.rstrip("\r\n")):]
        out.append(match.group(1) + key + match.group(3) + value + match.group(5) + ending)
    _verify_mac(meta, sealer, Source(source_name))
    result = "".join(out)
    if meta.get("trailing_newline") is False and result.endswith("\n"):
        result = result[:-1]
    return result


# -- public API --------------------------------------------------------------------------------
_ENCRYPT = {"yaml": _yaml_encrypt, "json": _json_encrypt, "env": _env_encrypt}
_DECRYPT = {"yaml": _yaml_decrypt, "json": _json_decrypt, "env": _env_decrypt}


BOM = "\ufeff"


def _split_bom(text: str) -> tuple[str, str]:
    """A byte-order mark is kept aside: the parsers' positions do not count it (so in-place edits
    would land one character off) and JSON refuses it; it is put back on the output."""
    return (BOM, text[1:]) if text.startswith(BOM) else ("", text)


def encrypt_values(text: str, fmt: str, wrappers: Sequence[KeyWrapper],
                   context: Mapping[str, str] | None = None, only: Sequence[str] | None = None,
                   source_name: str = "<input>") -> str:
    if fmt not in _ENCRYPT:
        raise UsageError(f"unknown structured format {fmt!r} (yaml, json or env)")
    bom, text = _split_bom(text)
    match = compile_only(only)
    paths: list[str] = []

    def selected(path: str) -> bool:
        paths.append(path)
        return match(path)

    meta, sealer = _new_envelope(fmt, wrappers, dict(context or {}), only,
                                 text.endswith("\n") or not text)
    result = _ENCRYPT[fmt](text, source_name, meta, sealer, selected)
    for pattern in only or ():
        # a typo would otherwise leave every value in clear in a file that looks encrypted
        one = compile_only([pattern])
        if not any(one(path) for path in paths):
            raise UsageError(f"--only {pattern!r} matches no value in the file; nothing was written",
                             Source(source_name))
    return bom + result


def decrypt_values(text: str, fmt: str, unwrappers: Unwrappers, context: Mapping[str, str] | None = None,
                   source_name: str = "<input>") -> str:
    if fmt not in _DECRYPT:
        raise UsageError(f"unknown structured format {fmt!r} (yaml, json or env)")
    bom, text = _split_bom(text)
    return bom + _DECRYPT[fmt](text, source_name, unwrappers, dict(context or {}))


def read_meta(text: str, fmt: str, source_name: str = "<input>") -> dict[str, Any]:
    text = _split_bom(text)[1]
    if fmt == "yaml":
        return _yaml_split(text, source_name)[1]
    if fmt == "json":
        data = _json_load(text, source_name)
        if not isinstance(data, dict) or META_KEY not in data:
            raise NotSealedError("no 'cnsec' metadata: not a per-value encrypted file", Source(source_name))
        return _check_meta(data[META_KEY], Source(source_name))
    return _env_split(text, source_name)[1]


def rewrap_values(text: str, fmt: str, unwrappers: Unwrappers,
                  new_wrappers: Callable[[Stanza], Sequence[KeyWrapper]],
                  source_name: str = "<input>") -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Re-wrap the data key only; the sealed values and the MAC are untouched."""
    bom, text = _split_bom(text)
    new_text, meta, new_meta = _rewrap_values(text, fmt, unwrappers, new_wrappers, source_name)
    return bom + new_text, meta, new_meta


def _rewrap_values(text: str, fmt: str, unwrappers: Unwrappers,
                   new_wrappers: Callable[[Stanza], Sequence[KeyWrapper]],
                   source_name: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    meta = read_meta(text, fmt, source_name)
    try:
        salt = b64d(meta["salt"])
    except ValueError:
        raise TamperedHeaderError("the cnsec metadata is malformed", Source(source_name)) from None
    dek, used = unwrappers.unwrap(meta["stanzas"], salt)
    new_meta = dict(meta)
    new_meta["stanzas"] = [w.wrap(dek, salt) for w in new_wrappers(used)]
    if fmt == "yaml":
        doc = _yaml_walk(text, source_name)
        assert doc.meta_start is not None
        rest = "" if doc.doc_end is None or doc.doc_end < doc.meta_start else text[doc.doc_end:]
        return text[:doc.meta_start] + _yaml_meta_text(new_meta) + rest, meta, new_meta
    if fmt == "json":
        data = _json_load(text, source_name)
        data[META_KEY] = new_meta
        return _json_dump(data), meta, new_meta
    lines = text.splitlines(keepends=True)
    out = [_env_meta_line(new_meta) if ENV_LINE.match(line.rstrip("\r\n"))
           and line.lstrip().startswith(META_KEY + "=") else line for line in lines]
    return "".join(out), meta, new_meta


def meta_summary(meta: Mapping[str, Any]) -> dict[str, Any]:
    stanzas = [s for s in meta.get("stanzas", []) if isinstance(s, dict)]
    local = next((s for s in stanzas if s.get("type") == "local"), None)
    return {"format": f"cnsec per-value ({meta.get('format')})", "format_version": meta.get("version"),
            "algorithm": meta.get("alg"), "key_name": local.get("key") if local else None,
            "key_version": local.get("version") if local else None,
            "keys": [{k: v for k, v in s.items() if k not in ("wrapped", "epk")} for s in stanzas],
            "context_keys": meta.get("context_keys"), "only": meta.get("only"), "chunk_size": None}
