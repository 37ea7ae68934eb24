"""Generated but realistic telemetry for the scenario tests: daily seasonality, noisy latency, clients
with their own habits, typos at login. Deterministic (seeded), written as the real formats."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from pathlib import Path

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
PAGES = ["/", "/products", "/products/42", "/cart", "/api/items?page=2", "/static/app.js",
         "/static/style.css", "/search?q=shoes", "/account", "/help"]


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clf_time(ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return f"{d.day:02d}/{MONTHS[d.month - 1]}/{d.year}:{d.hour:02d}:{d.minute:02d}:{d.second:02d} +0000"


def diurnal(ts: float) -> float:
    """0.25 at 04:00 UTC, 1.0 at 16:00 UTC."""
    hour = (ts % 86400) / 3600.0
    return 0.625 + 0.375 * math.sin(2 * math.pi * (hour - 10) / 24)


def metrics(rng: random.Random, start: int, end: int, services: tuple[str, ...] = ("web", "api"),
            step: int = 15, attack: tuple[int, int] | None = None) -> list[str]:
    out = []
    for t in range(start, end, step):
        for svc in services:
            hot = attack is not None and attack[0] <= t < attack[1] and svc == "web"
            lat = 60.0 * (1 + 0.4 * diurnal(t)) * rng.lognormvariate(0, 0.12) * (6.0 if hot else 1.0)
            avail = (0.78 + 0.05 * rng.random()) if hot else (1.0 if rng.random() > 0.02 else 0.998)
            out.append(json.dumps({"timestamp": rfc3339(t + rng.random()), "name": "latency_ms",
                                   "labels": {"service": svc, "instance": f"{svc}-0"}, "value": round(lat, 2)}))
            out.append(json.dumps({"timestamp": rfc3339(t + rng.random()), "name": "availability",
                                   "labels": {"service": svc}, "value": round(avail, 5)}))
    return out


def clients(n: int, prefix: str = "100.64") -> list[str]:
    return [f"{prefix}.{i // 250}.{i % 250 + 1}" for i in range(n)]


def access_json(rng: random.Random, start: int, end: int, per_min: float = 12.0, n_clients: int = 120,
                service: str = "web") -> list[tuple[float, str]]:
    pool = clients(n_clients)
    out = []
    for minute in range(start, end, 60):
        n = int(per_min * diurnal(minute) * (0.8 + 0.4 * rng.random()))
        for _ in range(n):
            t = minute + rng.random() * 60
            status = 200 if rng.random() > 0.04 else rng.choice((404, 304, 302))
            if rng.random() < 0.0005:
                status = 500
            rec = {"time_iso8601": rfc3339(t), "remote_addr": rng.choice(pool), "remote_user": "-",
                   "request": f"GET {rng.choice(PAGES)} HTTP/1.1", "status": status,
                   "body_bytes_sent": int(rng.lognormvariate(9, 0.6)),
                   "request_time": round(rng.lognormvariate(-3, 0.3), 3), "host": service,
                   "http_user_agent": "Mozilla/5.0"}
            out.append((t, json.dumps(rec)))
    return out


def combined_line(t: float, ip: str, method: str, path: str, status: int, size: int) -> str:
    return (f'{ip} - - [{clf_time(t)}] "{method} {path} HTTP/1.1" {status} {size} '
            f'"https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"')


def access_combined(rng: random.Random, start: int, end: int, per_min: float = 12.0,
                    n_clients: int = 120) -> list[tuple[float, str]]:
    pool = clients(n_clients)
    out = []
    for minute in range(start, end, 60):
        n = int(per_min * diurnal(minute) * (0.8 + 0.4 * rng.random()))
        for _ in range(n):
            t = minute + rng.random() * 60
            out.append((t, combined_line(t, rng.choice(pool), "GET", rng.choice(PAGES),
                                         200 if rng.random() > 0.05 else 404, int(rng.lognormvariate(9, 0.7)))))
    return out


USERS = [f"user{i:02d}" for i in range(40)] + ["alice", "bob", "carol", "dave", "erin"]


def iam_entries(rng: random.Random, start: int, end: int) -> list[dict[str, object]]:
    """Each user logs in once or twice a working day from their own address; some typos first."""
    out: list[dict[str, object]] = []
    for day in range(start - start % 86400, end, 86400):
        for i, user in enumerate(USERS):
            ip = f"192.0.2.{i + 10}"
            for _ in range(rng.choice((1, 1, 2))):
                t = day + 8 * 3600 + rng.random() * 9 * 3600
                if not start <= t < end:
                    continue
                if rng.random() < 0.08:
                    out.append({"ts": t, "event": "login", "actor": user, "subject": user, "source": ip,
                                "outcome": "failure", "detail": {"reason": "bad password"}})
                    t += 5 + rng.random() * 20
                out.append({"ts": t, "event": "login", "actor": user, "subject": user, "source": ip,
                            "outcome": "success", "detail": {}})
    return sorted(out, key=lambda e: float(e["ts"]))  # type: ignore[arg-type]


def app_queries(rng: random.Random, start: int, end: int, users: int = 20) -> list[tuple[float, str]]:
    out = []
    for hour in range(start, end, 3600):
        for u in range(users):
            n = int(8 * diurnal(hour) * rng.random() * 2)
            for _ in range(n):
                t = hour + rng.random() * 3600
                out.append((t, json.dumps({"timestamp": rfc3339(t), "user": f"analyst{u}", "db": "orders",
                                           "rows_returned": int(rng.lognormvariate(4, 0.8))})))
    return out


def write(path: Path, lines: list[str] | list[tuple[float, str]]) -> Path:
    if lines and isinstance(lines[0], tuple):
        lines = [x for _, x in sorted(lines)]  # type: ignore[misc]
    path.write_text("".join(f"{x}\n" for x in lines), encoding="utf-8")  # type: ignore[misc]
    return path


# -- attacks ------------------------------------------------------------------------------------------
BOTS = [f"203.0.113.{i}" for i in range(1, 61)]


def dos_access(rng: random.Random, start: int, end: int) -> list[tuple[float, str]]:
    """60 sources, ~80 requests a minute each (below any per-source flood limit), many 503s."""
    out = []
    for minute in range(start, end, 60):
        for ip in BOTS:
            for _ in range(80):
                t = minute + rng.random() * 60
                status = 503 if rng.random() < 0.25 else 200
                out.append((t, json.dumps({
                    "time_iso8601": rfc3339(t), "remote_addr": ip, "request": "GET /search?q=x HTTP/1.1",
                    "status": status, "body_bytes_sent": 512, "request_time": 2.5, "host": "web",
                    "http_user_agent": "python-requests/2.31"})))
    return out


SQLI = ["/products?id=1%27%20OR%20%271%27%3D%271", "/products?id=1+UNION+SELECT+null,table_name+FROM+"
        "information_schema.tables--", "/products?id=1%20AND%20SLEEP(5)", "/search?q=%27%20or%201=1--",
        "/products?id=1;%20DROP%20TABLE%20users;%20--", "/products?id=-1+UNION+ALL+SELECT+1,2,3"]


def sqli_attack(rng: random.Random, t: float, ip: str = "198.51.100.23") -> list[tuple[float, str]]:
    """A burst of injection probes, then (ten minutes later) the dump comes back in large responses."""
    out = []
    for i in range(12):
        ts = t + i * 7
        out.append((ts, combined_line(ts, ip, "GET", SQLI[i % len(SQLI)], rng.choice((500, 200, 200)), 1200)))
    for i in range(4):
        ts = t + 600 + i * 30
        out.append((ts, combined_line(ts, ip, "GET", "/products?id=-1+UNION+SELECT+email,password_hash+"
                                                     "FROM+users--", 200, 6_000_000 + i * 1000)))
    return out


def spray_attack(t: float, ip: str = "203.0.113.77", winner: str = "carol") -> list[dict[str, object]]:
    """One address tries one password against 30 accounts in 3 minutes; the last one works."""
    out: list[dict[str, object]] = []
    for i, user in enumerate(USERS[:30]):
        out.append({"ts": t + i * 6, "event": "login", "actor": user, "subject": user, "source": ip,
                    "outcome": "failure", "detail": {"reason": "bad password"}})
    out.append({"ts": t + 300, "event": "login", "actor": winner, "subject": winner, "source": ip,
                "outcome": "success", "detail": {}})
    return out
