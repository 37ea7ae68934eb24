"""Detection accuracy on labelled real data: per-rule hits and misses.

1. Falco's Kubernetes audit test traces (../shared/corpora/detect/logs/falco-k8s-audit-traces, labels
   from Falco's own test suite): for every test that uses only Falco's standard rules, each Falco rule
   that fires must fire our equivalent rule (``equivalents.falco`` in the rule), and a trace Falco does
   not flag must raise nothing above ``info``.
2. The OTRF CloudTrail breach (SSRF -> instance credentials -> S3 exfiltration): at least one ``high``.
3. Panther's labelled rule tests: for Panther rules with the same intent as one of ours (the map
   below), each test event is an extra positive or negative for our rule.

Last line: ``RESULT falco_recall=<r> falco_clean=<r> otrf_high=<n> panther_precision=<p> panther_recall=<r>``
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnsec.detect.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (ROOT / "../shared/corpora/detect").resolve()
STANDARD = {"falco_rules.yaml", "k8s_audit_rules.yaml", "disallow_kactivity.yaml"}

#: Panther rule -> our rule with the same intent
PANTHER = {
    "Kubernetes.Pod.Privileged.Created": "CNSEC-DET-K8S-001",
    "Kubernetes.Pod.HostPath.Volume": "CNSEC-DET-K8S-002",
    "Kubernetes.Pod.Host.Network": "CNSEC-DET-K8S-003",
    "Kubernetes.Pod.Host.PID": "CNSEC-DET-K8S-004",
    "Kubernetes.Pod.Host.IPC": "CNSEC-DET-K8S-005",
    "Kubernetes.Service.NodePort.Deployed": "CNSEC-DET-K8S-006",
    "Kubernetes.API.AnonymousAccess": "CNSEC-DET-K8S-008",
    "Amazon.EKS.AnonymousAPIAccess": "CNSEC-DET-K8S-008",
    "Kubernetes.Pod.Exec": "CNSEC-DET-K8S-009",
    "Kubernetes.Pod.SystemNamespace": "CNSEC-DET-K8S-012",
    "Kubernetes.SystemRole.Modified": "CNSEC-DET-K8S-014",
    "Kubernetes.ClusterRoleBinding.Privileged": "CNSEC-DET-K8S-015",
    "Kubernetes.Role.Wildcard": "CNSEC-DET-K8S-016",
    "Kubernetes.Role.WritePermissions": "CNSEC-DET-K8S-017",
    "Kubernetes.Role.PodExec": "CNSEC-DET-K8S-018",
    "Kubernetes.Secret.AccessDenied": "CNSEC-DET-K8S-020",
    "Kubernetes.Ingress.NoTLS": "CNSEC-DET-K8S-021",
    "Kubernetes.AdmissionController.Created": "CNSEC-DET-K8S-023",
    "AWS.Root.Activity": "CNSEC-DET-AWS-001",
    "AWS.Console.RootLogin": "CNSEC-DET-AWS-001",
    "AWS.CloudTrail.Stopped": "CNSEC-DET-AWS-002",
    "AWS.CloudTrail.EventSelectorsDisabled": "CNSEC-DET-AWS-002",
    "AWS.IAM.CreateUser": "CNSEC-DET-AWS-003",
    "AWS.IAM.Backdoor.User.Keys": "CNSEC-DET-AWS-003",
    "AWS.CloudTrail.LoginProfileCreatedOrModified": "CNSEC-DET-AWS-003",
    "AWS.IAM.AttachAdminUserPolicy": "CNSEC-DET-AWS-004",
    "AWS.IAM.AttachAdminRolePolicy": "CNSEC-DET-AWS-004",
    "AWS.Console.LoginWithoutMFA": "CNSEC-DET-AWS-005",
    "AWS.CloudTrail.IMDSCredentialExfiltration": "CNSEC-DET-AWS-007",
    "AWS.S3.BucketPolicyModified": "CNSEC-DET-AWS-009",
    "AWS.S3.DeletePublicAccessBlock": "CNSEC-DET-AWS-009",
    "AWS.ConfigService.DisabledDeleted": "CNSEC-DET-AWS-010",
    "AWS.VPCFlow.LogsDeleted": "CNSEC-DET-AWS-010",
    "AWS.KMS.CustomerManagedKeyLoss": "CNSEC-DET-AWS-012",
    "AWS.S3.BucketDeleted": "CNSEC-DET-AWS-013",
    "AWS.S3.DeleteBucketEncryption": "CNSEC-DET-AWS-013",
    "GCP.iam.serviceAccountKeys.create": "CNSEC-DET-GCP-001",
    "GCP.Log.Bucket.Or.Sink.Deleted": "CNSEC-DET-GCP-002",
    "GCP.Logging.Sink.Modified": "CNSEC-DET-GCP-002",
}


def alerts_for(engine: Engine, path: Path) -> list[Any]:
    from cnsec.detect.alerts import AlertBook
    from cnsec.detect.sources import open_binary

    book = AlertBook()
    with open_binary(str(path)) as s:  # a missing input raises, not an empty result
        engine.scan_stream_events(s, str(path), None, book.add_event)
    return book.alerts()


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from cnsec.detect.engine import Engine
    from cnsec.detect.rules import bundled
    from cnsec.detect.sources import expand, sniff_source
    from cnsec.model.severity import Severity

    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    rules = bundled().rules
    engine = Engine(rules)
    equivalent = {name: r.id for r in rules for name in r.equivalents.get("falco", ())}

    print("== Falco k8s audit traces (standard rules only)")
    traces = CORPUS / "logs/falco-k8s-audit-traces"
    labels = json.loads((traces / "_labels_from_falco_k8s_audit_tests.json").read_text())
    per_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    clean = [0, 0]
    for trace, tests in sorted(labels.items()):
        for t in tests:
            if not set(t["rules_file"]) <= STANDARD or t["test"].startswith("compat_"):
                continue
            alerts = alerts_for(engine, traces / trace)
            fired = {a.rule_id for a in alerts}
            if t["detect"]:
                for counts in t["detect_counts"]:
                    for falco_rule in counts:
                        ours = equivalent.get(falco_rule, "-")
                        hit = ours in fired
                        per_rule[f"{falco_rule} -> {ours}"][0 if hit else 1] += 1
                        if not hit:
                            print(f"  MISS {trace}: {falco_rule} (ours {ours}) fired={sorted(fired)}")
            else:
                loud = [a.rule_id for a in alerts if a.severity > Severity.INFO]
                clean[0 if not loud else 1] += 1
                print(f"  {'ok  ' if not loud else 'NOISY'} {trace}: not flagged by Falco; "
                      f"ours above info: {loud or 'none'}")
    for name, (hit, miss) in sorted(per_rule.items()):
        print(f"  {hit} hit {miss} miss  {name}")
    hits = sum(h for h, _ in per_rule.values())
    total = sum(h + m for h, m in per_rule.values())
    falco_recall = hits / total if total else 0.0
    falco_clean = clean[0] / sum(clean) if sum(clean) else 0.0

    print("== OTRF CloudTrail breach")
    otrf = alerts_for(engine, CORPUS / "logs/otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json")
    for a in otrf:
        print(f"  {a.severity.label:<8} {a.rule_id} {a.title} key={a.key} x{a.count}")
    otrf_high = sum(1 for a in otrf if a.severity >= Severity.HIGH)

    print("== Panther labelled tests, rules with the same intent")
    by_id = {r.id: r for r in rules}
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])  # tp fp fn tn other-shape
    for name in ("K8s.Audit", "AWS.CloudTrail", "GCP.AuditLog"):
        for line in (CORPUS / f"logs/panther-analysis-tests/{name}.labeled.jsonl").open():
            t = json.loads(line)
            ours = PANTHER.get(t["rule_id"])
            if ours is None or not isinstance(t["log"], dict):
                continue
            rule = by_id[ours]
            events = expand(t["log"])
            row = stats[f"{t['rule_id']} -> {ours}"]
            if not events or sniff_source(events[0]) != rule.source:
                row[4] += 1
                continue
            fired = any(r.id == ours for r in engine.scan_events(events, rule.source or "json"))
            expected = bool(t["expected_result"])
            row[{(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[(fired, expected)]] += 1
    for name, (tp, fp, fn, tn, other) in sorted(stats.items()):
        print(f"  tp={tp} fp={fp} fn={fn} tn={tn} other-shape={other}  {name}")
    tp = sum(r[0] for r in stats.values())
    fp = sum(r[1] for r in stats.values())
    fn = sum(r[2] for r in stats.values())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"RESULT falco_recall={falco_recall:.2f} falco_clean={falco_clean:.2f} otrf_high={otrf_high} "
          f"panther_precision={precision:.2f} panther_recall={recall:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
