"""The Azure checks on real azurerm provider examples: provider defaults, not Checkov's assumptions.

Sources in ``realworld/SOURCES.md``. Checkov fails both files on settings whose provider default is
safe (kubenet's 110 pods per node, soft delete on an account without blobs); cnsec must not, and must
still report what is really missing.
"""

from __future__ import annotations

from pathlib import Path

from cnsec.assess.config import Config
from cnsec.assess.engine import assess

REAL = Path(__file__).parent / "realworld"


def _ids(name: str) -> set[str]:
    report = assess([str(REAL / name)], Config())
    assert not report.errors, [str(e) for e in report.errors]
    return {f.check_id for f in report.findings}


def test_a_kubenet_cluster_without_max_pods_is_not_short_of_pods_but_still_lacks_a_network_policy() -> None:
    ids = _ids("azurerm-aks-egress-kubenet.tf")
    assert "CNSEC-TF-200" not in ids  # kubenet's default is 110 pods per node
    assert "CNSEC-TF-211" not in ids  # no Key Vault secrets provider: nothing to rotate
    assert {"CNSEC-TF-213", "CNSEC-TF-209", "CNSEC-TF-214", "CNSEC-TF-207"} <= ids


def test_a_file_storage_account_is_not_asked_for_blob_soft_delete_but_for_its_network_exposure() -> None:
    ids = _ids("azurerm-storage-share.tf")
    assert "CNSEC-TF-218" not in ids
    assert "CNSEC-TF-021" not in ids  # min_tls_version absent: the provider's default is TLS1_2
    assert {"CNSEC-TF-216", "CNSEC-TF-221"} <= ids
