"""CycloneDX out (``cnsec vulns PATH --sbom-out FILE``): what was read, and what affects it.

Through cyclonedx-python-lib, the CycloneDX project's own library, so the document follows the
specification's schema (1.6) by construction, and is validated against it before it is written where
jsonschema is installed (it is in the test environment): every
package read becomes a component (purl, where it was read, in an image the layer that brought it) and
every finding a vulnerability that affects its component (id, aliases, rating, fix). Consumers such as
Dependency-Track take it as is; feeding it back to ``cnsec vulns`` reads the same packages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from cnsec.errors import InputError
from cnsec.model.finding import Finding
from cnsec.model.source import Source
from cnsec.vulns.inventory import Package

_SEVERITY = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "info"}


def to_cyclonedx(packages: Iterable[Package], findings: Iterable[Finding], purl_of: Callable[[Package], str]) -> str:
    """The CycloneDX 1.6 JSON document (validated against the schema)."""
    from cyclonedx.model import Property, XsUri
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.vulnerability import (
        BomTarget,
        Vulnerability,
        VulnerabilityRating,
        VulnerabilityReference,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    from cnsec import __version__

    bom = Bom()
    bom.metadata.tools.components.add(Component(name="cnsec", version=__version__,
                                                type=ComponentType.APPLICATION))
    refs: dict[str, Component] = {}
    for pkg in packages:
        purl = purl_of(pkg)
        if purl in refs:
            continue
        props = [Property(name="cnsec:file", value=pkg.file)]
        if pkg.layer:
            props.append(Property(name="cnsec:layer", value=pkg.layer))
        component = Component(name=pkg.name, version=pkg.version, type=ComponentType.LIBRARY,
                              purl=PackageURL.from_string(purl), bom_ref=purl, properties=props)
        refs[purl] = component
        bom.components.add(component)
    for f in findings:
        comp = refs.get(f.asset_id)
        if comp is None:
            continue
        attrs = f.attrs
        vuln = Vulnerability(
            bom_ref=f.id, id=f.check_id, description=f.title,
            source=VulnerabilitySource(name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{f.check_id}")),
            references=[VulnerabilityReference(id=a, source=VulnerabilitySource(name="OSV"))
                        for a in attrs.get("aliases") or ()],
            ratings=[VulnerabilityRating(severity=VulnerabilitySeverity(_SEVERITY.get(f.severity.label, "unknown")),
                                         score=Decimal(str(score)) if (score := attrs.get("cvss_score")) else None,
                                         vector=attrs.get("cvss_vector"))],
            recommendation=f.remediation or None,
            affects=[BomTarget(ref=comp.bom_ref.value or "")])
        bom.vulnerabilities.add(vuln)
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    try:  # the library's schema check needs jsonschema (its json-validation extra): used when present
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError:  # pragma: no cover
        return text
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if errors is not None:  # a bug of ours, never the user's input: say what the schema refused
        raise InputError(f"the CycloneDX document does not validate: {errors}", Source("--sbom-out"))
    return text
