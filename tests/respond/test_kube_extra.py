"""The Kubernetes client is an extra (``cnsec[cluster]``): without it, a live action says how to get it."""

from __future__ import annotations

import sys

import pytest

from cnsec.respond.kube import KubeError, KubernetesApi


def test_a_live_action_without_the_kubernetes_client_says_which_extra_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "kubernetes" or m.startswith("kubernetes.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if not installed: import raises
    with pytest.raises(KubeError, match=r"pip install 'cnsec\[cluster\]'"):
        KubernetesApi()
