"""Known vulnerabilities in pinned dependencies: inventory (lockfiles) -> local OSV index -> findings.

Images, root filesystems, OS packages, ``vulndb update`` over HTTP and VEX slot in later as more
inventory sources and index feeders (docs/vulns.md).
"""
