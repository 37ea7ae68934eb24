"""Version order per ecosystem: an advisory's range is only as right as the comparison behind it.

PyPI goes through ``packaging`` (PEP 440, the pip resolver's own rules). SemVer (npm, Go, crates.io),
Debian's dpkg algorithm, rpm's rpmvercmp (Red Hat, AlmaLinux, Rocky, openSUSE), RubyGems'
``Gem::Version`` and a lenient dotted order for the rest are written here, each short, and held to
the osv-scalibr version-ordering vectors (tests/vulns/test_versions.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol


class VersionError(ValueError):
    """A version string the ecosystem's rules cannot read."""


class Comparable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


def _semver_ident(part: str) -> tuple[int, int, str]:
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


_SEMVER = re.compile(r"^[v=\s]*(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?"
                     r"(?:-?([0-9A-Za-z.\-]+?))?(?:\+[0-9A-Za-z.\-]*)?$")


def semver_key(version: str) -> tuple[Any, ...]:
    """SemVer 2.0 precedence; a missing minor/patch is 0 and a leading 'v' is allowed (Go's tags)."""
    m = _SEMVER.match(version.strip())
    if m is None:
        raise VersionError(f"not a semantic version: {version!r}")
    core = tuple(int(x) if x else 0 for x in m.group(1, 2, 3, 4))
    pre = m.group(5)
    if not pre:
        return (core, (1,))
    return (core, (0, tuple(_semver_ident(p) for p in pre.split("."))))


def _dpkg_order(c: str) -> int:
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _dpkg_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternate non-digit runs (``~`` before everything, letters before the rest)
    and digit runs compared as numbers."""
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _dpkg_order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _dpkg_order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def _dpkg_split(v: str) -> tuple[int, str, str]:
    v = v.strip()
    epoch = 0
    if ":" in v:
        head, v = v.split(":", 1)
        if not head.isdigit():
            raise VersionError(f"not a Debian version (epoch {head!r}): {v!r}")
        epoch = int(head)
    upstream, _, revision = v.rpartition("-") if "-" in v else (v, "", "")
    if not upstream or not upstream[0].isdigit():
        raise VersionError(f"not a Debian version: {v!r}")
    return epoch, upstream, revision


def dpkg_compare(a: str, b: str) -> int:
    return _dpkg_cmp_parsed(_dpkg_split(a), _dpkg_split(b))


_APK_NUMBERS = re.compile(r"^(?:\d+\.?)*")
_APK_SUFFIX = re.compile(r"^_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)")
_APK_SUFFIX_ORDER = {s: n for n, s in enumerate(("alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"))}
_APK_BUILD = re.compile(r"^-r(\d*)")


def apk_parse(version: str) -> tuple[Any, ...]:
    """Alpine's ``number{.number}{letter}{_suffix{number}}{~hash}{-r#}``: numbers, letter, suffixes
    (alpha < beta < pre < rc < none < cvs < svn < git < hg < p), build; a commit hash is ignored and an
    unreadable tail sorts a version below the same version without it."""
    rest = version.strip()
    head = _APK_NUMBERS.match(rest)
    numbers = [d for d in head.group(0).split(".") if d] if head else []
    rest = rest[head.end():] if head else rest
    letter = rest[0] if rest[:1].isalpha() and rest[:1].islower() else ""
    rest = rest[len(letter):]
    suffixes = []
    while m := _APK_SUFFIX.match(rest):
        suffixes.append((_APK_SUFFIX_ORDER[m.group(1)], int(m.group(2) or 0)))
        rest = rest[m.end():]
    if m := re.match(r"^~[0-9a-f]+", rest):
        rest = rest[m.end():]
    build, unreadable = 0, False
    if m := _APK_BUILD.match(rest):
        build, rest = int(m.group(1) or 0), rest[m.end():]
    else:
        unreadable = bool(rest)  # anything but a build number here is not an apk version
    return version, numbers, letter, suffixes, build, rest, unreadable


def _apk_number_cmp(n: int, a: str, b: str) -> int:
    if n and (a[:1] == "0" or b[:1] == "0"):  # after the first: a leading zero compares as text (fraction)
        return (a > b) - (a < b)
    return (int(a) > int(b)) - (int(a) < int(b))


def _apk_cmp_parsed(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
    if a[6] and b[6]:
        return int(a[0] > b[0]) - int(a[0] < b[0])  # neither reads as an apk version: text order
    for n in range(max(len(a[1]), len(b[1]))):
        x = a[1][n] if n < len(a[1]) else "0"
        y = b[1][n] if n < len(b[1]) else "0"
        if diff := _apk_number_cmp(n if n < len(a[1]) and n < len(b[1]) else 0, x, y):
            return diff
    if a[2] != b[2]:
        return -1 if a[2] < b[2] else 1
    if diff := _cmp_padded(a[3], b[3], (_APK_SUFFIX_ORDER[""], 0)):
        return diff
    if a[4] != b[4]:
        return -1 if a[4] < b[4] else 1
    return (not a[5]) - (not b[5])


_RPM_SEGMENT = re.compile(r"~|\^|[0-9]+|[A-Za-z]+")


def _rpm_segments(v: str) -> list[str]:
    """rpmvercmp's tokens: runs of digits, runs of ASCII letters, ``~`` and ``^``; every other character
    only separates (``1.0_1`` is ``1 0 1``)."""
    return _RPM_SEGMENT.findall(v)


def rpmvercmp(a: str, b: str) -> int:
    """rpm's ``rpmvercmp`` (lib/rpmvercmp.c): ``~`` sorts before everything, even the end; ``^`` after
    the end but before anything else; a number beats letters; numbers compare as numbers (leading zeros
    dropped), letters as bytes; whichever has segments left wins."""
    if a == b:
        return 0
    xs, ys = _rpm_segments(a), _rpm_segments(b)
    i = 0
    while i < len(xs) or i < len(ys):
        x = xs[i] if i < len(xs) else ""
        y = ys[i] if i < len(ys) else ""
        if x == "~" or y == "~":
            if x != y:
                return -1 if x == "~" else 1
        elif x == "^" or y == "^":
            if not x:
                return -1
            if not y:
                return 1
            if x != y:
                return 1 if y == "^" else -1
        elif not x or not y:
            return 1 if x else -1
        elif x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1
        elif x.isdigit():
            xi, yi = x.lstrip("0"), y.lstrip("0")
            if len(xi) != len(yi):
                return 1 if len(xi) > len(yi) else -1
            if xi != yi:
                return 1 if xi > yi else -1
        elif x != y:
            return 1 if x > y else -1
        i += 1
    return 0


def _rpm_split(v: str) -> tuple[str, str, str | None]:
    """``[epoch:]version[-release]``; a missing epoch is 0 (as OSV's ``0:1.2-3.el9`` fixes write it),
    a missing release sorts below any release (``1 < 1-0``). The epoch is compared by rpmvercmp too, as
    osv-scalibr does (a non-numeric epoch stays comparable)."""
    v = v.strip()
    if not v:
        raise VersionError("an empty rpm version")
    head, colon, rest = v.partition(":")
    epoch, v = (head, rest) if colon else ("0", v)
    version, dash, release = v.rpartition("-")
    return (epoch, version, release) if dash else (epoch, v, None)


def _rpm_cmp_parsed(a: tuple[str, str, str | None], b: tuple[str, str, str | None]) -> int:
    if diff := rpmvercmp(a[0], b[0]) or rpmvercmp(a[1], b[1]):
        return diff
    if a[2] is None or b[2] is None:
        return (a[2] is not None) - (b[2] is not None)
    return rpmvercmp(a[2], b[2])


def rpm_compare(a: str, b: str) -> int:
    """Two ``[epoch:]version[-release]`` strings, as ``rpm -q --qf`` EVRs compare."""
    return _rpm_cmp_parsed(_rpm_split(a), _rpm_split(b))


_GEM_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE)
_GEM_VALID = re.compile(r"^\s*[0-9]+[0-9a-zA-Z]*(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z\-.]+)?\s*$")


def gem_key(version: str) -> tuple[Any, ...]:
    """``Gem::Version#<=>``: letters start a prerelease (before any number); trailing zeros of the
    release and the prerelease part are dropped (canonical segments)."""
    v = version.strip()
    if not v:
        v = "0"
    if not _GEM_VALID.match(v):
        raise VersionError(f"not a RubyGems version: {version!r}")
    v = v.replace("-", ".pre.")
    segs: list[int | str] = [int(s) if s.isdigit() else s for s in _GEM_SEGMENT.findall(v)]
    cut = next((n for n, s in enumerate(segs) if isinstance(s, str)), len(segs))
    release, pre = segs[:cut], segs[cut:]
    while release and release[-1] == 0:
        release.pop()
    while pre and pre[-1] == 0:
        pre.pop()
    # a string sorts before every number; a missing segment is 0
    return tuple((1, s, "") if isinstance(s, int) else (0, 0, s) for s in release + pre)


def _cmp_padded(xs: Sequence[Any], ys: Sequence[Any], pad: Any) -> int:
    """Element by element, the shorter one padded with ``pad`` (a missing segment is zero)."""
    for n in range(max(len(xs), len(ys))):
        x = xs[n] if n < len(xs) else pad
        y = ys[n] if n < len(ys) else pad
        if x != y:
            return -1 if x < y else 1
    return 0


_LOOSE = re.compile(r"\d+|[a-z]+", re.IGNORECASE)
_QUALIFIERS = {"dev": -5, "snapshot": -5, "alpha": -4, "a": -4, "beta": -3, "b": -3, "milestone": -2,
               "m": -2, "rc": -1, "cr": -1, "pre": -1, "": 0, "final": 0, "ga": 0, "release": 0,
               "stable": 0, "sp": 1, "p": 1, "pl": 1, "patch": 1}


def _loose_tokens(v: str) -> tuple[list[int], list[tuple[int, int, str]]]:
    """The leading dotted numbers, then the rest (qualifiers and their numbers)."""
    release: list[int] = []
    rest: list[tuple[int, int, str]] = []
    for tok in _LOOSE.findall(v.lower().lstrip("v")):
        if tok.isdigit() and not rest:
            release.append(int(tok))
        elif tok.isdigit():
            rest.append((1, int(tok), ""))
        else:
            rest.append((0, _QUALIFIERS.get(tok, -6), tok))
    return release, rest


def loose_compare(a: str, b: str) -> int:
    """Dotted numbers (missing ones are 0), then qualifiers dev < alpha < beta < RC < (release) <
    patch: close to Composer's and Maven's orders for the versions advisories name; approximate beyond
    them (tests/vulns/test_versions.py gives the agreement on the vectors)."""
    return _loose_cmp_parsed(_loose_tokens(a), _loose_tokens(b))


def _pep440(version: str) -> Comparable:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version)
    except InvalidVersion:
        raise VersionError(f"not a PEP 440 version: {version!r}") from None


def _semver(version: str) -> Comparable:
    return semver_key(version)


class _Ordered:
    """A version with its parsed form computed once; ``cmp`` compares two parsed forms (a sort or a
    range check compares one version many times: no re-tokenising per comparison)."""

    __slots__ = ("cmp", "key")

    def __init__(self, key: Any, cmp: Callable[[Any, Any], int]) -> None:
        self.key = key
        self.cmp = cmp

    def __lt__(self, other: _Ordered) -> bool:
        return self.cmp(self.key, other.key) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ordered) and self.cmp(self.key, other.key) == 0

    def __hash__(self) -> int:
        return 0  # equal versions can have different parsed forms ("1.0" and "1"): one bucket is right


_WIDTH = 16  # segments: longer versions (none seen in any advisory) compare as if cut after them


def _padded(seq: Sequence[Any], pad: Any) -> tuple[Any, ...]:
    """``seq`` padded to a fixed width, so that plain tuple order (in C) is the padded order."""
    return (*seq, *(pad,) * (_WIDTH - len(seq)))


def _gem_parse(version: str) -> Comparable:
    return _padded(gem_key(version), (1, 0, ""))


def _loose_parse(version: str) -> Comparable:
    release, rest = _loose_tokens(version)
    return (_padded(release, 0), _padded(rest, (0, 0, "")))


def _by_key(parse: Callable[[str], Any], cmp: Callable[[Any, Any], int]) -> Callable[[str], Comparable]:
    def make(version: str) -> Comparable:
        return _Ordered(parse(version), cmp)

    return make


def _dpkg_cmp_parsed(a: tuple[int, str, str], b: tuple[int, str, str]) -> int:
    return (a[0] - b[0]) or _dpkg_part(a[1], b[1]) or _dpkg_part(a[2], b[2])


def _loose_cmp_parsed(a: tuple[list[int], list[Any]], b: tuple[list[int], list[Any]]) -> int:
    return _cmp_padded(a[0], b[0], 0) or _cmp_padded(a[1], b[1], (0, 0, ""))


_PARSERS: dict[str, Callable[[str], Comparable]] = {
    "PyPI": _pep440,
    "npm": _semver,
    "Go": _semver,
    "crates.io": _semver,
    "Hex": _semver,
    "Pub": _semver,
    "Debian": _by_key(_dpkg_split, _dpkg_cmp_parsed),
    "Ubuntu": _by_key(_dpkg_split, _dpkg_cmp_parsed),
    "RubyGems": _gem_parse,
    "Alpine": _by_key(apk_parse, _apk_cmp_parsed),
    **dict.fromkeys(("Red Hat", "AlmaLinux", "Rocky Linux", "openSUSE", "SUSE", "Mageia", "openEuler"),
                    _by_key(_rpm_split, _rpm_cmp_parsed)),
}
_LOOSE_PARSE = _loose_parse

#: ecosystems compared by their own rules; the rest (Packagist, Maven, NuGet...) use the lenient order
EXACT = frozenset(_PARSERS)


def parser_for(ecosystem: str) -> Callable[[str], Comparable]:
    """``Debian:11`` and ``Alpine:v3.18`` use their base ecosystem's rules."""
    return _PARSERS.get(ecosystem.split(":", 1)[0], _LOOSE_PARSE)


def parse(ecosystem: str, version: str) -> Comparable:
    return parser_for(ecosystem)(version)
