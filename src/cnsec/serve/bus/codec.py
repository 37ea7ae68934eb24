"""One bus message: many events of one partition (throughput comes from batching events into messages;
one Python publisher reaches about 19,000 JetStream messages/s).

The payload (version 2) is a header line, ``{"v": 2, "inputs": [[source, name], ...], "runs": [[input
index, events], ...], "lines": [line number, ...]}``, then one line per event, its JSON as read. Events
keep their input's name and line, so an alert's evidence names the same ``file:line`` as a one-process
run; an event's line never holds a newline. The numbers are in the header, not before each event, so
decoding is one split of the payload (no Python work per event: a worker's decoding cost a tenth of
its matching when every line was split again for its prefix). Version 1 (``<input index> <line
number> <event JSON>`` per line) is still read: a stream keeps what older publishers wrote.

A message is sent compressed (:func:`pack`): ``LZ4\\n`` then the payload in LZ4's block format (its
size first), accelerated (8): about 5x smaller on real audit logs (the corpus's, in 350 KB pieces: 4.7x),
so about a fifth of the bytes go into the stream, its replicas and the network (what a 1M events/s
cluster is bound by: docs/scale.md), for no CPU measurable here: in A/B pairs over 1M events the
publisher was as fast or faster (the NATS client writes fewer bytes) and a worker's CPU the same
within this machine's noise (-7% in one pair, +0.4% in another). Uncompressed payloads are still read.
"""

from __future__ import annotations

from collections.abc import Sequence

import lz4.block
import orjson

VERSION = 2
#: what a compressed payload starts with (an uncompressed one starts with its JSON header)
PACKED = b"LZ4\n"
#: the most a compressed payload may unpack to: refused before anything is allocated above it (the
#: size is the sender's word; a message is at most the server's largest, 1 MiB unless configured)
MAX_UNPACKED = 64 << 20


class BadMessage(ValueError):
    """A payload that is not a batch of this version: parked whole in the dead-letter subject."""


def as_line(raw: bytes) -> bytes:
    """An event as :func:`encode_batch` takes it: one line, ending with its newline. A JSON event
    holds no raw newline; anything else must not cut the framing."""
    return (raw.replace(b"\n", b" ") if b"\n" in raw else raw) + b"\n"


def encode_batch(runs: Sequence[tuple[tuple[str, str], int]], lines: list[int], raws: list[bytes]) -> bytes:
    """One message of ``raws`` (events, in order) read at ``lines`` of their inputs: ``runs`` names
    the input ((source, name)) from each index on, in order; a run that holds no event (the next
    starts at the same index) is left out.

    Each event is a line that ends with its newline and holds no other (:func:`as_line`): as a line
    is read from a file. Taken so, not stripped, the events are copied once, into the message (a
    copy of each line without its newline cost the reading thread 9% of its time), and no byte of
    a batch is looked at again. Columns, not an object per event: the publisher's batches are built
    in the reading thread, where a Python object per event is what costs."""
    inputs: dict[tuple[str, str], int] = {}
    head_runs: list[list[int]] = []
    for j, (ident, start) in enumerate(runs):
        end = runs[j + 1][1] if j + 1 < len(runs) else len(raws)
        if end <= start:
            continue
        i = inputs.get(ident)
        if i is None:
            i = inputs[ident] = len(inputs)
        if head_runs and head_runs[-1][0] == i:
            head_runs[-1][1] += end - start
        else:
            head_runs.append([i, end - start])
    head = orjson.dumps({"v": VERSION, "inputs": [list(k) for k in inputs], "runs": head_runs, "lines": lines})
    if not raws:
        return head
    last = raws[-1]
    if last[-1:] != b"\n":  # the cheap half of the contract's check: a caller that hands events unended
        raise ValueError("encode_batch takes events as lines, each ending with its newline (as_line)")
    return b"".join([head, b"\n", *raws[:-1], last[:-1]])


Group = tuple[str, str, list[tuple[int, bytes]]]


def pack(payload: bytes) -> bytes:
    """A payload as it goes on the bus: compressed (see the module's note)."""
    packed: bytes = lz4.block.compress(payload, mode="fast", acceleration=8)
    return PACKED + packed


def unpack(message: bytes) -> bytes:
    """The payload of a message, compressed or not; :class:`BadMessage` for a compressed one that is
    damaged or claims more than :data:`MAX_UNPACKED`."""
    if not message.startswith(PACKED):
        return message
    body = memoryview(message)[len(PACKED):]
    size = int.from_bytes(body[:4], "little") if len(body) >= 4 else -1
    if not 0 <= size <= MAX_UNPACKED:
        raise BadMessage(f"compressed event batch of a size it cannot have ({size})")
    try:
        out: bytes = lz4.block.decompress(body)
        return out
    except lz4.block.LZ4BlockError as exc:
        raise BadMessage(f"compressed event batch that does not unpack: {exc}") from None


def decode(payload: bytes) -> list[Group]:
    """The events of a message (compressed or not), in order, as runs of one input: (source, name,
    [(line, event)])."""
    parts = unpack(payload).split(b"\n")
    try:
        head = orjson.loads(parts[0])
        if not isinstance(head, dict) or head.get("v") not in (1, VERSION):
            raise BadMessage(f"not a version {VERSION} event batch")
        inputs = [(str(s), str(n)) for s, n in head["inputs"]]
        if head["v"] == 1:
            return _decode_v1(parts, inputs)
        lines = list(map(int, head["lines"]))
        if len(lines) != len(parts) - 1:
            raise BadMessage(f"event batch of {len(parts) - 1} events with {len(lines)} line numbers")
        groups: list[Group] = []
        at = 1
        for i, n in head["runs"]:
            if n < 1 or at + n > len(parts):
                raise BadMessage("event batch whose runs do not add up to its events")
            groups.append((*inputs[i], list(zip(lines[at - 1:at - 1 + n], parts[at:at + n], strict=True))))
            at += n
        if at != len(parts):
            raise BadMessage("event batch whose runs do not add up to its events")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, BadMessage):
            raise
        raise BadMessage(f"undecodable event batch: {type(exc).__name__}: {exc}") from None
    return groups


def _decode_v1(parts: list[bytes], inputs: list[tuple[str, str]]) -> list[Group]:
    groups: list[Group] = []
    last = -1
    for part in parts[1:]:
        i_s, line_s, raw = part.split(b" ", 2)
        i = int(i_s)
        if i != last:
            groups.append((*inputs[i], []))
            last = i
        groups[-1][2].append((int(line_s), raw))
    return groups
