"""Shared check helpers give the same answers as the general tools they shortcut, call after call."""

from __future__ import annotations

import base64
import random
import shlex
from typing import Any

import pytest
import yaml

from cnsec.assess.checks.dockerfile._shell import commands
from cnsec.assess.checks.k8s._control_plane import components, kubelet_info, shell_split
from cnsec.assess.patches import pointer, set_patch, to_yaml
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import Workload, as_workload

DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _res(doc: dict[str, Any]) -> K8sResource:
    return K8sResource(str(doc["kind"]), "v1", "x", None, doc, "f.yaml", 1, 1)


def _pod(*containers: dict[str, Any]) -> Workload:
    w = as_workload(_res({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": list(containers)}}))
    assert w is not None
    return w


def _kubelet_info(cmd: str, config: str | None) -> K8sResource:
    data: dict[str, Any] = {"cmdLine": cmd}
    if config is not None:
        data["configFile"] = {"content": base64.b64encode(config.encode()).decode()}
    return _res({"apiVersion": "hostdata.kubescape.cloud/v1beta0", "kind": "KubeletInfo", "data": data})


@pytest.mark.parametrize("text", [
    "kube-apiserver --a=1  --b 2", "", "  ", "a\tb\r\nc", "--x='a b' --y=\"c d\"", "a\\ b", "'unclosed",
    "a\x0bb", "a\x0cb", "a\x1fb", "a\u00a0b", "caf\u00e9 --x", "# not a comment", "x#y ;|& z",
])
def test_shell_split_is_shlex_split(text: str) -> None:
    try:
        expected: list[str] | type[ValueError] = shlex.split(text)
    except ValueError:
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError):
            shell_split(text)
    else:
        assert shell_split(text) == expected


def test_kubelet_config_of_two_documents_is_unknown_like_one_document_config_is_known() -> None:
    one = kubelet_info(_kubelet_info("kubelet", "readOnlyPort: 10255\n"))
    two = kubelet_info(_kubelet_info("kubelet", "readOnlyPort: 10255\n---\nreadOnlyPort: 0\n"))
    assert one is not None and one.config == {"readOnlyPort": 10255}
    assert two is not None and two.config is None


def test_kubelet_config_alias_bomb_is_unreadable() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True))
    view = kubelet_info(_kubelet_info("kubelet --read-only-port=0", bomb))
    assert view is not None and view.config is None and view.flags["read-only-port"].value == "0"


def test_kubelet_views_of_the_same_text_do_not_share_their_flag_maps() -> None:
    first = kubelet_info(_kubelet_info("/usr/bin/kubelet --anonymous-auth=false", "readOnlyPort: 0\n"))
    assert first is not None
    first.flags.clear()
    again = kubelet_info(_kubelet_info("/usr/bin/kubelet --anonymous-auth=false", "readOnlyPort: 0\n"))
    assert again is not None and again.flags["anonymous-auth"].value == "false"
    assert again.config == {"readOnlyPort": 0}


def test_same_command_line_in_two_containers_points_at_each_container() -> None:
    spec = {"command": ["kube-apiserver", "--anonymous-auth=true"]}
    comps = list(components(_pod({"name": "a", **spec}, {"name": "b", **spec})))
    assert [c.container.name for c in comps] == ["a", "b"]
    assert [c.flags["anonymous-auth"].path for c in comps] == [
        ("spec", "containers", 0, "command", 1), ("spec", "containers", 1, "command", 1)]


def test_boolean_and_number_list_items_are_read_differently() -> None:
    [with_one] = components(_pod({"name": "a", "command": ["kube-apiserver", "--insecure-port", 1]}))
    [with_true] = components(_pod({"name": "a", "command": ["kube-apiserver", "--insecure-port", True]}))
    assert with_one.get("insecure-port") == "1"
    assert with_true.get("insecure-port") == "true"  # a boolean item is not a token: the flag stands alone


def test_shell_form_component_cannot_be_appended_to_but_list_form_can() -> None:
    [shell] = components(_pod({"name": "a", "command": ["sh", "-c", "kube-apiserver --x=1"]}))
    [listed] = components(_pod({"name": "a", "command": ["kube-apiserver"], "args": ["--x=1"]}))
    assert shell.append_to is None
    assert listed.append_to == ("spec", "containers", 0, "args")


@pytest.mark.parametrize("path,expected", [
    (("spec", "containers", 0, "image"), "/spec/containers/0/image"),
    (("metadata", "annotations", "a/b~c"), "/metadata/annotations/a~1b~0c"),
    (("a~", "/"), "/a~0/~1"),
    (("metadata", "labels", "app.kubernetes.io/name"), "/metadata/labels/app.kubernetes.io~1name"),
    ((), "/"),
])
def test_pointer_escapes_tilde_and_slash_only(path: tuple[str | int, ...], expected: str) -> None:
    assert pointer(path) == expected


FLOAT_STEP: Any = ("a", 1.0)


def test_pointer_of_equal_paths_with_other_step_types_is_their_own() -> None:
    assert [pointer(("a", 1)), pointer(("a", True)), pointer(FLOAT_STEP), pointer(("a", 1))] == [
        "/a/1", "/a/True", "/a/1.0", "/a/1"]


def test_set_patch_replaces_a_wrong_typed_parent_and_keeps_an_existing_one() -> None:
    res = _res({"kind": "Pod", "spec": {"containers": [{"name": "a", "resources": []}]}})
    assert set_patch(res, ("spec", "containers", 0, "resources", "limits", "cpu"), "1") == [
        {"op": "replace", "path": "/spec/containers/0/resources", "value": {"limits": {"cpu": "1"}}}]
    assert set_patch(res, ("spec", "containers", 0, "name"), "b") == [
        {"op": "replace", "path": "/spec/containers/0/name", "value": "b"}]
    assert set_patch(res, ("spec", "volumes", "-"), {"name": "v"}) == [
        {"op": "add", "path": "/spec/volumes", "value": [{"name": "v"}]}]


class _Sub(dict[str, Any]):
    pass


SHARED = {"k": "v"}


@pytest.mark.parametrize("doc", [
    {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 1, "template": {"spec": {
        "containers": [{"name": "a", "image": "nginx:1.25", "args": ["--port", "8080", "true", "", "- x"],
                        "env": [{"name": "A", "value": "yes"}, {"name": "B", "value": None}]}]}}}},
    {"long": "word " * 40, "unicode": "caf\u00e9 \u2028 x", "multi": "a\nb\n", "quote": "it's \"q\"",
     "num": 10**20, "neg": -1, "float": 1.5, "nan": float("nan"), "bool": False, "bytes": b"\x00\x01",
     "keys": {"1": "one", "true": "t", "": "empty", "x" * 200: "long key"}},
    {"a": SHARED, "b": SHARED, "c": [SHARED, [SHARED]]},
    {"set": {1, 2}, "sub": _Sub(a=1), "nested": [[], {}, [[1]], [{"a": [1, {"b": None}]}]]},
])
def test_to_yaml_is_yaml_dump(doc: dict[str, Any]) -> None:
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return [plain(x) for x in v] if isinstance(v, list) else v

    expected = yaml.dump(plain(doc), Dumper=DUMPER, sort_keys=False, default_flow_style=False)
    assert to_yaml(doc) == expected
    assert to_yaml(doc) == expected  # remembered implicit tags give the same text


_WORDS = ["", " ", "a", "yes", "No", "null", "~", "1", "0x1F", "1e3", ".inf", "2001-12-14", "-", "- a", "a: b",
          "a:b", "#x", "a #b", "'q'", '"', "multi\nline", "tab\there", "caf\u00e9", "\u2028", "\x85", "<<", "=",
          "!tag", "&a", "*a", "%", "@", "`", "0o17", "+1", "1_000", ":", "?", "a,b", "[x]", "{y}", "---", "...",
          "--port=80", "nginx:1.25", "sh -c 'x'", "trail ", " lead", "x" * 130]


def _random_doc(rnd: random.Random, depth: int = 0) -> Any:
    r = rnd.random()
    if depth > 4 or r < 0.45:
        return rnd.choice([" ".join(rnd.choices(_WORDS, k=rnd.randint(1, 25))), rnd.choice(_WORDS), True, None,
                           0, -7, 10**25])
    if r < 0.75:
        return {rnd.choice(_WORDS): _random_doc(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [_random_doc(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


def test_to_yaml_is_yaml_dump_on_random_plain_documents() -> None:
    rnd = random.Random(20261129)
    for _ in range(1500):
        doc = {"root": _random_doc(rnd)}
        assert to_yaml(doc) == yaml.dump(doc, Dumper=DUMPER, sort_keys=False, default_flow_style=False)


def test_unbalanced_quotes_fall_back_to_whitespace_words_every_time() -> None:
    for _ in range(2):
        assert [c.argv for c in commands("echo 'oops && apt-get update")] == [
            ["echo", "'oops"], ["apt-get", "update"]]
