"""The scanning engine: one multi-pattern pass to find candidate lines, then per-detector extraction.

Stage 1 (the only stage that touches every byte) finds every line that contains a detector keyword
or anchor, in one pass: Hyperscan when the ``hyperscan`` extra is installed, otherwise one combined
RE2 (DFA, linear time) pattern. Both produce the same set of candidate lines, so everything after
is shared and results are identical by construction.

Stage 2 runs only on candidate lines: the detectors whose keywords occur in the line run their
regular expression, then the validators and precision filters. Model objects are built only for
results.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cnsec.data.scan import filters
from cnsec.data.scan.detectors import VALUE_GROUPS, Detector, all_detectors
from cnsec.model.severity import Severity

#: Lines longer than this (minified bundles, base64 blobs) are looked at in windows around each hit.
LONG_LINE = 4096
WINDOW_BEFORE = 256
WINDOW_AFTER = 1024
#: How far a generic detector's name is extended to the left of its keyword (``MYSQL_ROOT_PASSWORD``).
MAX_NAME = 64
#: Hyperscan hits in one line beyond which the rest of the line is not scanned again (see line_spans).
DENSE_LINE = 16
#: The most a long-line window grows to (see Engine._long_line_windows).
MAX_WINDOW = 8192
DEFAULT_SALT = b"cnsec-secret-scan/v1"
_HASH_ITERATIONS = 200

_INLINE_IGNORE = ("cnsec:ignore", "pragma: allowlist secret", "gitleaks:allow", "nosec")
_NEXT_LINE_IGNORE = ("cnsec:ignore-next-line", "pragma: allowlist nextline secret")
_REASON = re.compile(r"cnsec:ignore(?:-next-line)?\b[\s:=-]*(?P<reason>[^\n*#]*?)\s*(?:-->|\*/)?$")


@dataclass(frozen=True, slots=True)
class SecretHit:
    """One secret found. Holds no secret: a redacted preview and a salted fingerprint only."""

    detector: str
    title: str
    severity: Severity
    line: int
    end_line: int
    column: int
    preview: str
    fingerprint: str
    key: str | None = None
    suppressed: str | None = None  # the reason, when an inline comment or the allowlist suppresses it

    def to_dict(self) -> dict[str, object]:
        return {"detector": self.detector, "title": self.title, "severity": self.severity.label,
                "line": self.line, "end_line": self.end_line, "column": self.column,
                "preview": self.preview, "fingerprint": self.fingerprint, "key": self.key,
                "suppressed": self.suppressed}


@dataclass(frozen=True, slots=True)
class AllowRule:
    """One ``.cnsec.yaml`` allowlist entry: path and/or value globs, optionally for one detector."""

    reason: str
    path: str | None = None
    value: str | None = None
    detector: str | None = None

    def matches(self, path: str, secret: str, detector: str) -> bool:
        if self.detector and self.detector != detector:
            return False
        if self.path and not (fnmatch.fnmatchcase(path, self.path)
                              or fnmatch.fnmatchcase(path, self.path.rstrip("/") + "/*")):
            return False
        return not (self.value and not fnmatch.fnmatchcase(secret, self.value))


@dataclass(frozen=True)
class EngineOptions:
    salt: bytes = DEFAULT_SALT
    allow: tuple[AllowRule, ...] = ()
    #: Generic (keyword-assignment) detectors stay quiet in test fixtures; format detectors do not.
    skip_generic_in_tests: bool = True
    disabled: frozenset[str] = field(default_factory=frozenset)


def redact(secret: str, reveal: int, key: str | None = None) -> str:
    """A preview that never contains the secret: a known public prefix at most, then a mask."""
    shown = secret[:reveal] if reveal and len(secret) > reveal + 6 else ""
    masked = f"{shown}{'*' * 8}"
    return f"{key}={masked}" if key else masked


def fingerprint(secret: str, detector: str, salt: bytes) -> str:
    """Salted, slow-ish hash: identifies the secret across runs without revealing it."""
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8", "surrogatepass"),
                                 salt + b"\x00" + detector.encode(), _HASH_ITERATIONS)
    return digest[:16].hex()


#: A candidate line: (start, end, ids of the keywords/anchors seen in it, when the matcher reports them).
Span = tuple[int, int, "set[int] | None"]


class _LineCounter:
    """Line numbers on demand: counted only up to the lines that produce a hit, in increasing order."""

    __slots__ = ("counted_to", "data", "lineno")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.counted_to = 0
        self.lineno = 1

    def line_of(self, offset: int) -> int:
        if offset > self.counted_to:
            self.lineno += self.data.count(b"\n", self.counted_to, offset)
            self.counted_to = offset
        return self.lineno


class _Prefilter:
    """Stage 1: byte offsets of candidate lines."""

    def __init__(self, keywords: Sequence[str], anchors: Sequence[str]) -> None:
        self.keywords = list(keywords)
        self.anchors = list(anchors)

    def line_spans(self, data: bytes) -> list[Span]:  # pragma: no cover - abstract
        raise NotImplementedError


def _spans_from_hits(data: bytes, hits: Iterable[tuple[int, int]]) -> list[Span]:
    """(position, pattern id) pairs in position order -> one span per line with the ids seen in it."""
    spans: list[Span] = []
    end = -1
    ids: set[int] = set()
    n = len(data)
    for pos, pid in hits:
        if pos <= end:
            ids.add(pid)
            continue
        start = data.rfind(b"\n", 0, pos) + 1
        end = data.find(b"\n", pos)
        if end == -1:
            end = n
        ids = {pid}
        spans.append((start, end, ids))
    return spans


def _byte_escape(literal: str) -> str:
    return "".join(f"\\x{b:02x}" for b in literal.encode("utf-8"))


def _re2_options() -> Any:
    import re2

    options = re2.Options()
    options.max_mem = 256 << 20  # a DFA that ran out of memory would silently miss lines
    return options


class Marks:
    """Where keywords and anchors occur, with RE2: the keywords in one DFA, each anchor in its own.

    One DFA for all of them is what a combined pattern gives, and the anchors' counted repeats
    (``[A-Za-z0-9]{32}-us\\d``, ``sl\\.[A-Za-z0-9_\\-]{130}``) multiply its states: on a long run of
    base64 it overflows its cache and falls back to 1.4 s per MB. Apart, each stays small and fast.
    """

    def __init__(self, keywords: Sequence[str], anchors: Sequence[str]) -> None:
        import re2

        options = _re2_options()
        self._unanchored = re2._Anchor.UNANCHORED
        words = ["(?i:" + re.escape(k) + ")" for k in keywords]
        anchors_c = [re2.compile(a.encode(), options) for a in anchors]
        self._anchors = [c._regexp.Match for c in anchors_c]  # the C++ matcher: the wrapper costs more
        self._match = ([re2.compile("|".join(words).encode(), options)._regexp.Match] if words else []) \
            + self._anchors
        self._keywords = self._set(words, options)
        self._keyword_count = len(keywords)
        # one set of everything: fastest on ordinary lines, and on a line of at most LONG_LINE bytes
        # even its slow case is bounded; longer texts take the keyword set and the anchors apart
        self._all = self._set(words + list(anchors), options)
        self.combined = re2.compile("|".join(words + ["(?:" + a + ")" for a in anchors]).encode(), options)

    @staticmethod
    def _set(patterns: Sequence[str], options: Any) -> Any:
        import re2

        found = re2.Set.SearchSet(options)
        for p in patterns:
            found.Add(p.encode())
        found.Compile()
        return found

    def ids(self, text: bytes) -> list[int]:
        """Ids of the keywords (0..k-1) and anchors (k..) that occur in ``text``."""
        if len(text) <= LONG_LINE:
            return list(self._all._set.Match(text) or ())
        found = list(self._keywords._set.Match(text) or ())
        unanchored = self._unanchored
        n = len(text)
        for j, match in enumerate(self._anchors):
            if match(unanchored, text, 0, n)[0][0] >= 0:
                found.append(self._keyword_count + j)
        return found

    def cursor(self, data: bytes, end: int) -> Callable[[int], int]:
        """``next(pos)``: the first mark at or after ``pos`` (before ``end``), or -1. Each pattern's
        last answer is kept, so a walk through the data searches each pattern about once."""
        unanchored = self._unanchored
        matchers = self._match
        found = [-2] * len(matchers)  # -2 not searched yet; -1 none left; else the position
        since = [0] * len(matchers)

        def next_mark(pos: int) -> int:
            best = -1
            for i, match in enumerate(matchers):
                hit = found[i]
                if hit == -2 or since[i] > pos or 0 <= hit < pos:
                    hit = found[i] = match(unanchored, data, pos, end)[0][0]
                    since[i] = pos
                if hit >= 0 and (best < 0 or hit < best):
                    best = hit
            return best

        return next_mark


class Re2Prefilter(_Prefilter):
    """Pure fallback: RE2 (linear-time DFAs), skipping to the next line per hit."""

    name = "re2"

    def __init__(self, keywords: Sequence[str], anchors: Sequence[str]) -> None:
        super().__init__(keywords, anchors)
        self._marks = Marks(keywords, anchors)

    def line_spans(self, data: bytes) -> list[Span]:
        """One combined pattern, skipping to the next line per hit: on ordinary text twice as fast as
        the separate patterns of Marks.cursor (which the long-line windows use)."""
        spans: list[Span] = []
        n = len(data)
        match = self._marks.combined._regexp.Match  # the C++ matcher: the wrapper costs more
        unanchored = self._marks._unanchored
        pos = 0
        while pos < n:
            hit = match(unanchored, data, pos, n)[0][0]
            if hit < 0:
                break
            start = data.rfind(b"\n", 0, hit) + 1
            end = data.find(b"\n", hit)
            if end == -1:
                end = n
            spans.append((start, end, None))
            pos = end + 1
        return spans


class HyperscanPrefilter(_Prefilter):
    """Hyperscan: all keywords and anchors in one database, one block-mode scan per file."""

    name = "hyperscan"

    def __init__(self, keywords: Sequence[str], anchors: Sequence[str]) -> None:
        super().__init__(keywords, anchors)
        import hyperscan

        exprs = [_byte_escape(k).encode() for k in self.keywords] + [a.encode() for a in self.anchors]
        flags = [hyperscan.HS_FLAG_CASELESS] * len(self.keywords) + [0] * len(self.anchors)
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
        self._scratch = hyperscan.Scratch(self._db)
        self._db.scratch = self._scratch

    def line_spans(self, data: bytes) -> list[Span]:
        """Callbacks are bounded per line: after ``DENSE_LINE`` hits in one line the scan stops and
        resumes after that line (a line of repeated keywords once cost a callback per byte: a million
        per MB, 10 GB for a 100 MB line). Such a line's keyword ids are then incomplete, so the engine
        works out its detectors itself."""
        import hyperscan

        n = len(data)
        view = memoryview(data)
        hits: list[tuple[int, int]] = []
        append = hits.append
        dense: set[int] = set()
        base = 0
        line_end = -1
        per_line = 0

        def on_match(pid: int, _start: int, end: int, _flags: int, _ctx: object) -> bool | None:
            nonlocal line_end, per_line
            pos = base + end - 1
            if pos < line_end:
                per_line += 1
                if per_line > DENSE_LINE:
                    return True  # stop: the scan resumes after this line
            else:
                found = data.find(b"\n", pos)
                line_end = n if found == -1 else found
                per_line = 1
            append((pos, pid))
            return None

        while base < n:
            try:
                self._db.scan(view[base:], match_event_handler=on_match)  # type: ignore[type-var]  # a view: no copy
            except hyperscan.ScanTerminated:
                dense.add(line_end)
                base = line_end + 1
                continue
            break
        hits.sort()
        spans = _spans_from_hits(data, hits)
        return [(s, e, None) if e in dense else (s, e, ids) for s, e, ids in spans] if dense else spans


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


class Engine:
    """A compiled detector set. Build once per process; ``scan_bytes`` is pure and re-entrant."""

    def __init__(self, detectors: Sequence[Detector] | None = None, *, options: EngineOptions | None = None,
                 backend: str = "auto") -> None:
        self.options = options or EngineOptions()
        dets = [d for d in (detectors if detectors is not None else all_detectors())
                if d.id not in self.options.disabled]
        # format detectors first: on the same value they win over the generic ones
        self.detectors = sorted(dets, key=lambda d: d.generic)
        keywords = sorted({k for d in self.detectors for k in d.keywords})
        anchors = sorted({d.anchor for d in self.detectors if d.anchor})
        self._regexes = [d.regex for d in self.detectors]
        self._code_regexes = [d.code_regex for d in self.detectors]
        self._value_groups = [tuple(g for g in VALUE_GROUPS if g in d.regex.groupindex) for d in self.detectors]
        # Stage 2 selection, shared by both backends: which keywords/anchors occur in a candidate line
        # decides which detectors run on it (Hyperscan reports the ids; otherwise Marks finds them).
        self._selected: list[tuple[int, ...]] = []
        for k in keywords:
            self._selected.append(tuple(i for i, d in enumerate(self.detectors) if k in d.keywords))
        for a in anchors:
            self._selected.append(tuple(i for i, d in enumerate(self.detectors) if d.anchor == a))
        self._memo: dict[frozenset[int], tuple[int, ...]] = {}
        self._marks = Marks(keywords, anchors)
        if backend == "auto":
            backend = "hyperscan" if hyperscan_available() else "re2"
        if backend == "hyperscan":
            self.prefilter: _Prefilter = HyperscanPrefilter(keywords, anchors)
        elif backend == "re2":
            self.prefilter = Re2Prefilter(keywords, anchors)
        else:
            raise ValueError(f"unknown backend {backend!r} (expected auto, hyperscan or re2)")
        self.backend = backend

    # -- stage 2 -----------------------------------------------------------------------------------

    def _detectors_for(self, line: bytes, ids: Iterable[int] | None = None) -> tuple[int, ...]:
        """Detectors that apply to a line, from the ids of the keywords/anchors that occur in it (given
        by Hyperscan, or found here by Marks: the same set either way)."""
        key = frozenset(self._marks.ids(line) if ids is None else ids)
        dets = self._memo.get(key)
        if dets is None:
            chosen: set[int] = set()
            for i in key:
                chosen.update(self._selected[i])
            dets = self._memo[key] = tuple(sorted(chosen))
        return dets

    def scan_bytes(self, data: bytes, path: str) -> list[SecretHit]:
        if not data:
            return []
        spans = self.prefilter.line_spans(data)
        if not spans:
            return []
        code = filters.is_code_path(path)
        doc = filters.is_doc_path(path)
        in_tests = self.options.skip_generic_in_tests and filters.is_test_path(path)
        # a SealedSecret's values are ciphertext for the cluster's key: the encrypted form is meant for git
        in_tests = in_tests or (b"kind: SealedSecret" in data and path.endswith((".yaml", ".yml", ".json")))
        hits: list[SecretHit] = []
        seen: set[tuple[int, str]] = set()
        counter = _LineCounter(data)
        regexes = self._code_regexes if code else self._regexes
        detectors = self.detectors
        groups = self._value_groups
        for start, end, ids in spans:
            long_line = end - start > LONG_LINE
            windows = self._long_line_windows(data, start, end) if long_line else [(start, end)]
            for wstart, wend in windows:
                raw = data[wstart:wend]
                dets = self._detectors_for(raw, None if long_line else ids)
                if not dets:
                    continue
                line = raw.decode("utf-8", "replace")
                low = ""
                for i in dets:
                    det = detectors[i]
                    if det.generic and in_tests:
                        continue
                    if det.requires:
                        low = low or line.lower()
                        missing = False
                        for r in det.requires:
                            if r not in low:
                                missing = True
                                break
                        if missing:
                            continue
                    text = line
                    if det.extra_lines and wend == end:
                        text = self._extend(data, end, det.extra_lines, line)
                    regex = regexes[i]
                    if regex.search(text) is None:  # the common case: no match, no further work
                        continue
                    for hit in self._match(det, regex, groups[i], text, counter, start, path, (code, doc), data,
                                           wstart - start):
                        key = (hit[0], hit[1])
                        if key in seen:
                            continue
                        seen.add(key)
                        hits.append(hit[2])
        hits.sort(key=lambda h: (h.line, h.column, h.detector))
        file_reason = _file_ignore_reason(data)
        if file_reason is not None:
            hits = [h if h.suppressed else replace(h, suppressed=file_reason) for h in hits]
        return hits

    def _long_line_windows(self, data: bytes, start: int, end: int) -> list[tuple[int, int]]:
        """Minified files: look around the keyword and anchor hits of the line, not at the whole line.

        A window opens ``WINDOW_BEFORE`` bytes before a hit and runs ``MAX_WINDOW`` bytes; the next
        search starts ``WINDOW_AFTER`` bytes before its end, so every hit still has its full context in
        some window. Windows are bounded (merging overlapping ones once made an 8 MB base64
        line one 8 MB window for every detector's regex: 32 s and 900 MB), and the search skips the
        hits inside a window, so a line dense with keywords costs one search per window, not per hit.
        """
        next_mark = self._marks.cursor(data, end)
        windows: list[tuple[int, int]] = []
        pos = start
        while pos < end:
            mark = next_mark(pos)
            if mark < 0:
                break
            we = min(end, mark + MAX_WINDOW)
            windows.append((max(start, mark - WINDOW_BEFORE), we))
            if we == end:
                break
            pos = max(mark + 1, we - WINDOW_AFTER)
        return windows or [(start, min(end, start + LONG_LINE))]

    @staticmethod
    def _extend(data: bytes, end: int, extra: int, line: str) -> str:
        stop = end
        for _ in range(extra):
            nxt = data.find(b"\n", stop + 1)
            if nxt == -1:
                stop = len(data)
                break
            stop = nxt
        if stop <= end:
            return line
        return line + data[end:stop].decode("utf-8", "replace")

    def _match(self, det: Detector, regex: re.Pattern[str], groups: tuple[str, ...], text: str,
               counter: _LineCounter, line_start: int, path: str, kind: tuple[bool, bool], data: bytes,
               col_offset: int) -> list[tuple[int, str, SecretHit]]:
        out: list[tuple[int, str, SecretHit]] = []
        search = regex.search
        at = 0
        while True:
            m = search(text, at)
            if m is None:
                break
            # after a rejected generic match, look again just past its keyword: `-passin "pass:s3cr3t"`
            # and `Token-> DemoToken: x` hold the real assignment inside the rejected one
            at = m.start() + 1 if det.generic else max(m.end(), m.start() + 1)
            group = None
            for g in groups:
                if m.group(g) is not None:
                    group = g
                    break
            secret = m.group(group) if group else m.group(0)
            if not secret or len(secret) < det.min_length:
                continue
            key = None
            if det.generic and "key" in regex.groupindex:
                ks = m.start("key")
                stop = max(0, ks - MAX_NAME)  # bounded: a long run of name characters stays linear
                while ks > stop and (text[ks - 1].isalnum() or text[ks - 1] in "_.-"):
                    ks -= 1
                key = text[ks:m.end("key")]
            sep = m.group("sep") if "sep" in regex.groupindex else None
            if not self._accept(det, secret, key, group, kind, sep):
                continue
            pos = m.start(group) if group else m.start()
            lineno = counter.line_of(line_start)
            line = lineno + text.count("\n", 0, pos)
            end_line = lineno + text.count("\n", 0, m.end(group) if group else m.end())
            column = pos - (text.rfind("\n", 0, pos) + 1) + 1 + (col_offset if line == lineno else 0)
            suppressed = self._suppression(data, line_start, text, pos, lineno, line, path, secret, det.id)
            shown_key = key.strip("\"'`-") if key and det.generic else None
            hit = SecretHit(detector=det.id, title=det.title, severity=det.severity, line=line,
                            end_line=end_line, column=column, preview=redact(secret, det.reveal, shown_key),
                            fingerprint=fingerprint(secret, det.id, self.options.salt), key=shown_key,
                            suppressed=suppressed)
            out.append((line, secret, hit))
            at = max(m.end(), m.start() + 1)
        return out

    @staticmethod
    def _accept(det: Detector, secret: str, key: str | None, group: str | None, kind: tuple[bool, bool],
                sep: str | None) -> bool:
        """``kind``: (source code, documentation) — how the file's literals are read."""
        code, doc = kind
        if det.min_entropy and filters.shannon_entropy(secret) < det.min_entropy:
            return False
        if det.validate is not None and not det.validate(secret):
            return False
        if det.generic:
            if key is not None and det.key_filter is not None and not det.key_filter(key):
                return False
            # without a name to qualify (URLs, headers, SQL, command lines) the value is a literal in context
            quoted = group in ("dq", "sq", "bq") or det.key_filter is None
            loose = sep is not None and (not sep.strip() or sep.strip() == "is")
            if not filters.looks_like_secret_value(secret, quoted=quoted, code=code, loose_separator=loose):
                return False
            if key and secret.lower().strip("$") in key.lower():
                return False
            if key is not None and filters.key_parts(key) == ("key",) and not filters.looks_random(secret):
                return False  # a bare `key` is a map key far more often than a credential
            if filters.names_something(secret, key or ""):
                return False
            if doc and filters.is_documentation_value(secret):
                return False
        elif filters.is_fake_token(secret[det.reveal:]):
            return False
        return True

    def _suppression(self, data: bytes, line_start: int, text: str, pos: int, lineno: int, line: int,
                     path: str, secret: str, detector: str) -> str | None:
        # the physical line of the secret (it may be a later line of a multi-line window)
        ls = text.rfind("\n", 0, pos) + 1
        le = text.find("\n", pos)
        current = text[ls: le if le != -1 else len(text)]
        low = current.lower()
        for marker in _INLINE_IGNORE:
            if marker in low:
                m = _REASON.search(current)
                reason = (m.group("reason").strip() if m else "") or f"inline {marker}"
                return reason
        if line == lineno and line_start > 0:
            prev_start = data.rfind(b"\n", 0, line_start - 1) + 1
            prev = data[prev_start:line_start].decode("utf-8", "replace").lower()
            for marker in _NEXT_LINE_IGNORE:
                if marker in prev:
                    m = _REASON.search(prev.rstrip("\n"))
                    return (m.group("reason").strip() if m else "") or f"inline {marker}"
        for rule in self.options.allow:
            if rule.matches(path, secret, detector):
                return rule.reason
        return None


_FILE_IGNORE = re.compile(rb"cnsec:ignore-file\b[ \t:=-]*([^\r\n*#]*)")


def _file_ignore_reason(data: bytes) -> str | None:
    """``cnsec:ignore-file <reason>`` in the first lines: every hit of the file is suppressed (synthetic
    fixtures, detector examples); they stay in the report as suppressed, with the reason."""
    m = _FILE_IGNORE.search(data[:4096])
    if m is None:
        return None
    reason = m.group(1).decode("utf-8", "replace").strip().strip("\"'")
    return reason or "inline cnsec:ignore-file"


def scan_value_with(engine: Engine, key: str | None, value: str) -> SecretHit | None:
    """One key/value pair (env var, ConfigMap entry, annotation, Dockerfile ENV/ARG, TF attribute)."""
    value = value.strip()
    if not value:
        return None
    hits = engine.scan_bytes(value.encode("utf-8", "surrogatepass"), "<value>")
    if hits:
        return hits[0]
    if key is None or not filters.is_sensitive_key(key):
        return None
    if not filters.is_weak_literal(value):
        return None
    det = _generic_for_key(engine, key)
    if det is None:
        return None
    return SecretHit(detector=det.id, title=det.title, severity=det.severity, line=1, end_line=1, column=1,
                     preview=redact(value, 0, key), fingerprint=fingerprint(value, det.id, engine.options.salt),
                     key=key)


def _generic_for_key(engine: Engine, key: str) -> Detector | None:
    order = (("generic-password", filters.is_password_key), ("generic-secret", filters.is_secret_key),
             ("generic-token", filters.is_token_key), ("generic-api-key", filters.is_api_key_key))
    by_id = {d.id: d for d in engine.detectors}
    for det_id, test in order:
        if test(key) and det_id in by_id:
            return by_id[det_id]
    return None
