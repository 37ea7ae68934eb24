"""Online estimators: what is *usual* for a key, learned as data arrives, small enough to persist.

* :class:`Ewma`: exponentially weighted mean and variance of a key's window values.
* :class:`P2Quantile`: the P² algorithm (Jain & Chlamtac, 1985): a running quantile from five markers,
  O(1) memory, no sample kept.
* :class:`Baseline`: the EWMA per key (plus P² for the all-keys baseline) and how many windows were
  seen (no comparison before ``warmup`` windows).
* :class:`LogHistogram`: the quantiles *inside* one window, from log-spaced buckets (relative error about
  1%), so the answer does not depend on the order the values arrive in, and memory is bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class Ewma:
    alpha: float = 0.1
    mean: float = 0.0
    var: float = 0.0
    n: int = 0

    def update(self, x: float) -> None:
        if self.n == 0:
            self.mean = x
            self.var = 0.0
        else:
            diff = x - self.mean
            incr = self.alpha * diff
            self.mean += incr
            self.var = (1.0 - self.alpha) * (self.var + diff * incr)
        self.n += 1

    @property
    def std(self) -> float:
        return math.sqrt(max(self.var, 0.0))


class P2Quantile:
    """Running estimate of one quantile ``p`` with five markers (P²)."""

    __slots__ = ("count", "desired", "incr", "npos", "p", "q")

    def __init__(self, p: float) -> None:
        if not 0.0 < p < 1.0:
            raise ValueError("quantile must be in (0, 1)")
        self.p = p
        self.q: list[float] = []
        self.npos = [1.0, 2.0, 3.0, 4.0, 5.0]
        self.desired = [1.0, 1.0 + 2 * p, 1.0 + 4 * p, 3.0 + 2 * p, 5.0]
        self.incr = [0.0, p / 2, p, (1 + p) / 2, 1.0]
        self.count = 0

    def update(self, x: float) -> None:
        self.count += 1
        q = self.q
        if len(q) < 5:
            q.append(x)
            q.sort()
            return
        if x < q[0]:
            q[0] = x
            k = 0
        elif x >= q[4]:
            q[4] = max(q[4], x)
            k = 3
        else:
            k = 0
            while k < 3 and x >= q[k + 1]:
                k += 1
        n = self.npos
        for i in range(k + 1, 5):
            n[i] += 1
        desired = self.desired
        incr = self.incr
        desired[1] += incr[1]
        desired[2] += incr[2]
        desired[3] += incr[3]
        desired[4] += 1.0  # desired[0] stays 1
        for i in (1, 2, 3):
            d = desired[i] - n[i]
            if (d >= 1 and n[i + 1] - n[i] > 1) or (d <= -1 and n[i - 1] - n[i] < -1):
                s = 1.0 if d > 0 else -1.0
                qp = self._parabolic(i, s)
                if not q[i - 1] < qp < q[i + 1]:
                    j = i + int(s)
                    qp = q[i] + s * (q[j] - q[i]) / (n[j] - n[i])
                q[i] = qp
                n[i] += s

    def _parabolic(self, i: int, s: float) -> float:
        q, n = self.q, self.npos
        return q[i] + s / (n[i + 1] - n[i - 1]) * (
            (n[i] - n[i - 1] + s) * (q[i + 1] - q[i]) / (n[i + 1] - n[i])
            + (n[i + 1] - n[i] - s) * (q[i] - q[i - 1]) / (n[i] - n[i - 1]))

    def value(self) -> float | None:
        if not self.q:
            return None
        if len(self.q) < 5:
            s = sorted(self.q)
            return s[min(len(s) - 1, round(self.p * (len(s) - 1)))]
        return self.q[2]

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.p, "q": self.q, "n": self.npos, "d": self.desired, "count": self.count}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> P2Quantile:
        est = cls(float(d["p"]))
        est.q = [float(x) for x in d["q"]]
        est.npos = [float(x) for x in d["n"]]
        est.desired = [float(x) for x in d["d"]]
        est.count = int(d["count"])
        return est


class Baseline:
    """What is usual for one key: EWMA mean/variance, and (for the all-keys baseline, where the cost is
    paid once per window rather than once per key) the running p95 of window values."""

    __slots__ = ("ewma", "p95")

    def __init__(self, ewma: Ewma | None = None, quantile: bool = False) -> None:
        self.ewma = ewma or Ewma()
        self.p95: P2Quantile | None = P2Quantile(0.95) if quantile else None

    @property
    def n(self) -> int:
        return self.ewma.n

    def update(self, x: float) -> None:
        self.ewma.update(x)
        if self.p95 is not None:
            self.p95.update(x)

    def to_dict(self) -> dict[str, Any]:
        e = self.ewma
        d: dict[str, Any] = {"mean": e.mean, "var": e.var, "n": e.n, "alpha": e.alpha}
        if self.p95 is not None:
            d["p95"] = self.p95.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Baseline:
        b = cls(Ewma(float(d.get("alpha", 0.1)), float(d["mean"]), float(d["var"]), int(d["n"])))
        if "p95" in d:
            b.p95 = P2Quantile.from_dict(d["p95"])
        return b


_LOG_BASE = math.log(1.02)


class LogHistogram:
    """Log-bucketed counts of non-negative values: quantiles with ~1% relative error, order-free."""

    __slots__ = ("buckets", "count", "zeros")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.zeros = 0
        self.count = 0

    def add(self, x: float) -> None:
        self.count += 1
        if x <= 0.0:
            self.zeros += 1
            return
        b = math.ceil(math.log(x) / _LOG_BASE)
        self.buckets[b] = self.buckets.get(b, 0) + 1

    def quantile(self, p: float) -> float:
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(p * self.count))
        if rank <= self.zeros:
            return 0.0
        seen = self.zeros
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= rank:
                return math.exp((b - 0.5) * _LOG_BASE)
        return math.exp((max(self.buckets) - 0.5) * _LOG_BASE)
