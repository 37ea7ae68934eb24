"""The control catalog (``controls.yaml``): what a mitigation plan item tells people to do."""

from __future__ import annotations

from functools import cache
from importlib import resources

from cnsec.model.risk import Control


@cache
def control_catalog() -> dict[str, Control]:
    import yaml

    text = resources.files("cnsec.assess").joinpath("controls.yaml").read_text("utf-8")
    try:
        raw = yaml.load(text, Loader=yaml.CSafeLoader)  # libyaml: 10x faster than safe_load
    except AttributeError:  # pragma: no cover - PyYAML built without libyaml
        raw = yaml.safe_load(text)
    out: dict[str, Control] = {}
    for entry in raw["controls"]:
        if entry["id"] in out:
            raise ValueError(f"duplicate control id {entry['id']}")
        out[entry["id"]] = Control(id=entry["id"], title=entry["title"], action=entry["action"].strip())
    return out
