"""The detection engine: rules indexed by the literals they need, events streamed through them.

Per source we build a :class:`RuleIndex` once:

* the rules' exact-value requirements (``verb=create``) form a decision tree compiled to closures:
  an event reads a field once per node and follows only the branch its value names, reaching only
  the rules whose requirements it meets (then their residual tests run);
* rules with only substring requirements are found by their literal in the raw line; rules with no
  usable literal are tested on every event;
* one literal per rule requirement, all together, form a prefilter (Hyperscan, else RE2) over the
  raw line, so a line that contains none of them is never even parsed.

The prefilter only ever skips lines that cannot match (each literal is a necessary condition, chosen
from characters no JSON encoder rewrites), so results equal a full evaluation; the test-suite checks
that on the real corpora.

The parts, one module each: :mod:`.literals` (literal planning and the raw-line scanner), :mod:`.fetch`
(field values), :mod:`.compiler` (the decision tree), :mod:`.index` (:class:`RuleIndex`), :mod:`.scan`
(:class:`Engine`, the loop). The names below are the engine's public face.
"""

from __future__ import annotations

from cnsec.detect.engine.fetch import value_fetcher
from cnsec.detect.engine.index import RuleIndex
from cnsec.detect.engine.literals import LiteralScanner
from cnsec.detect.engine.scan import DEEP_EVENT, RULE_RAISED, Engine, Match, OnEvent, StreamState

__all__ = ["DEEP_EVENT", "RULE_RAISED", "Engine", "LiteralScanner", "Match", "OnEvent", "RuleIndex", "StreamState",
           "value_fetcher"]
