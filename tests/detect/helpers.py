"""Small helpers shared by the detect tests: compile a Sigma detection and run it on events."""

from __future__ import annotations

from typing import Any

from cnsec.detect.rules import Rule
from cnsec.detect.rules.sigma import compile_sigma_rule


def sigma_rule(detection: dict[str, Any], product: str = "aws", service: str = "cloudtrail") -> Rule:
    from sigma.policy.profiles import TrustedPolicy
    from sigma.rule import SigmaRule

    rule = SigmaRule.from_dict({"title": "t", "logsource": {"product": product, "service": service},
                                "detection": detection}, policy=TrustedPolicy)
    return compile_sigma_rule(rule, "test.yml")


def matches(detection: dict[str, Any], event: dict[str, Any]) -> bool:
    return bool(sigma_rule(detection).match(event))
