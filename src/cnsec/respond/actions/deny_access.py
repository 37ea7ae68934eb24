"""``deny_access``: take an identity's access away.

* **iam** — disable the user and revoke their tokens in the cnsec IAM store. The store belongs to the
  iam pillar; this action only relies on :class:`IdentityDirectory` and finds an implementation lazily
  through the iam pillar's public face, ``cnsec.iam.open_directory(url)``. Without it the step is
  skipped (and says so), never faked.
* **rolebinding** — remove the user from every RoleBinding (and, by default, ClusterRoleBinding) that
  names them; a binding left with no subject is deleted.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Protocol, runtime_checkable

from cnsec.errors import CnsecError
from cnsec.k8s.rbac import Subject
from cnsec.model.event import Alert
from cnsec.respond.actions.base import (
    Action,
    ActionContext,
    ActionFailed,
    ApplyResult,
    Change,
    Param,
    Skip,
    slug,
    to_yaml,
)

#: The iam pillar's public face, where ``open_directory`` is (another pillar's internals are not ours to
#: import: tests/test_architecture.py).
DIRECTORY_MODULE = "cnsec.iam"


@runtime_checkable
class IdentityDirectory(Protocol):
    """What deny_access needs from an identity store. Both calls are idempotent: they report whether
    anything changed (``False`` / ``0`` the second time)."""

    def disable_user(self, name: str) -> bool: ...
    def revoke_tokens(self, user: str) -> int: ...


def open_directory(url: str | None) -> IdentityDirectory | None:
    """The IAM store's directory, or ``None`` when the iam pillar does not provide one."""
    try:
        module = importlib.import_module(DIRECTORY_MODULE)
        opener = getattr(module, "open_directory", None)
    except ModuleNotFoundError as exc:  # the pillar, or its directory, is not installed
        if exc.name is not None and (exc.name + ".").startswith(DIRECTORY_MODULE + "."):
            return None
        raise
    if opener is None:
        return None
    directory = opener(url)
    if not isinstance(directory, IdentityDirectory):
        raise ActionFailed(f"{DIRECTORY_MODULE}.open_directory() did not return an IdentityDirectory")
    return directory


def directory_available() -> bool:
    try:
        return importlib.util.find_spec(DIRECTORY_MODULE) is not None
    except ModuleNotFoundError:
        return False


USER_LABELS = ("user", "username", "principal", "serviceaccount")


def user_from_key(key: str) -> str | None:
    """``alice``, ``user=alice``, ``principal=arn:…``; ``None`` for keys about something else
    (``ip=…``, ``pod=…``) — disabling a user called "ip=203.0.113.7" would help nobody."""
    text = key.strip()
    for label in USER_LABELS:
        for sep in ("=", ":"):
            if text.lower().startswith(label + sep):
                return text[len(label) + 1:].strip() or None
    if "=" in text or not text or text == "-":
        return None
    return text


def _subject_matches(subject: Any, binding: dict[str, Any], user: str) -> bool:
    """Whether this subject entry of ``binding`` is ``user`` itself, read as the RBAC authorizer reads it
    (:meth:`cnsec.k8s.rbac.Subject.denotes`: a namespace-less ServiceAccount is the binding's namespace's)."""
    meta = binding.get("metadata")  # a list's items carry no kind: a RoleBinding is the one with a namespace
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    parsed = Subject.parse(subject, str(namespace) if namespace else None)
    return parsed is not None and parsed.denotes(user)


class DenyAccess(Action):
    id = "deny_access"
    description = "disable the user and revoke their tokens (cnsec IAM), remove them from RoleBindings"
    params = {
        "via": Param("str-list", ["iam", "rolebinding"], "mechanisms to use", choices=("iam", "rolebinding")),
        "store": Param("str", None, "IAM store URL passed to the directory (default: its own default)"),
        "namespaces": Param("str-list", [], "namespaces whose RoleBindings are searched ([] = all)"),
        "cluster_role_bindings": Param("bool", True, "also search ClusterRoleBindings"),
    }

    def plan(self, alert: Alert, params: dict[str, Any], ctx: ActionContext) -> list[Change]:
        user = user_from_key(alert.key)
        if not user:
            raise Skip(f"the alert key {alert.key!r} names no user")
        changes: list[Change] = []
        from cnsec.report.safe import one_line

        # the name comes from the logs: in the artifacts (line-based files) it stays on its line
        shown = one_line(user)
        if "iam" in params["via"]:
            change = Change(
                action=self.id, kind="iam", target="cnsec IAM store", subject=user,
                description=f"disable user {shown} and revoke all their tokens in the cnsec IAM store",
                artifact=f"disable-user {shown}\nrevoke-tokens {shown}\n", artifact_name="iam.txt",
                artifact_mode="append", data={"user": user, "store": params["store"]}, names=(user,))
            if ctx.directory_factory is None and not directory_available():
                change.skip_reason = (f"the cnsec IAM store is not available "
                                      f"({DIRECTORY_MODULE} not installed)")
            changes.append(change)
        if "rolebinding" in params["via"]:
            scopes = [f"RoleBindings in {', '.join(params['namespaces']) or 'all namespaces'}"]
            if params["cluster_role_bindings"]:
                scopes.append("ClusterRoleBindings")
            changes.append(Change(
                action=self.id, kind="rolebinding", target="rbac " + " and ".join(scopes), subject=user,
                description=f"remove {shown} from {' and '.join(scopes)} (delete bindings left empty)",
                artifact=f"# remove subject {shown} from {' and '.join(scopes)}; bindings whose only subject "
                         f"is {shown} are deleted\n",
                artifact_name=f"rolebindings-{slug(user)}.txt",
                data={"user": user, "namespaces": params["namespaces"],
                      "cluster": params["cluster_role_bindings"]},
                names=(user,)))
        return changes

    # -- iam ------------------------------------------------------------------------------------------
    def _directory(self, change: Change, ctx: ActionContext) -> IdentityDirectory:
        factory = ctx.directory_factory or open_directory
        try:
            directory = factory(change.data["store"])
        except CnsecError as exc:  # not set up here (e.g. never initialised): not present, so skipped
            raise Skip(f"the cnsec IAM store is not available: {exc}") from None
        if directory is None:
            raise Skip(f"the cnsec IAM store is not available ({DIRECTORY_MODULE})")
        result: IdentityDirectory = directory
        return result

    # -- rbac -----------------------------------------------------------------------------------------
    def _bindings(self, change: Change, ctx: ActionContext) -> list[tuple[str | None, dict[str, Any]]]:
        kube = ctx.kube()
        user = change.data["user"]
        found: list[tuple[str | None, dict[str, Any]]] = []
        namespaces: list[str | None] = list(change.data["namespaces"]) or ["*"]
        if change.data["cluster"]:
            namespaces.append(None)
        for ns in namespaces:
            for binding in kube.list_role_bindings(ns):
                if any(_subject_matches(s, binding, user) for s in binding.get("subjects") or []):
                    scope = None if ns is None else binding["metadata"].get("namespace")
                    found.append((scope, binding))
        return found

    def in_effect(self, change: Change, ctx: ActionContext) -> bool:
        if change.kind == "rolebinding":
            return not self._bindings(change, ctx)
        return False  # the directory reports "nothing changed" itself

    def apply(self, change: Change, ctx: ActionContext) -> ApplyResult:
        user = change.data["user"]
        if change.kind == "iam":
            directory = self._directory(change, ctx)
            try:
                disabled = directory.disable_user(user)
                revoked = directory.revoke_tokens(user)
            except CnsecError as exc:  # the store's own "no user 'x'": nothing of theirs to disable
                raise Skip(f"cnsec IAM store: {exc}") from None
            if not disabled and not revoked:
                return ApplyResult(False, f"user {user} already disabled, no live tokens")
            return ApplyResult(True, f"user {user}: {'disabled' if disabled else 'already disabled'}, "
                                     f"{revoked} token(s) revoked")
        kube = ctx.kube()
        done: list[str] = []
        touched: list[dict[str, Any]] = []
        for ns, binding in self._bindings(change, ctx):
            name = binding["metadata"]["name"]
            where = f"clusterrolebinding {name}" if ns is None else f"rolebinding {ns}/{name}"
            remaining = [s for s in binding.get("subjects") or [] if not _subject_matches(s, binding, user)]
            if remaining:
                binding["subjects"] = remaining
                kube.replace_role_binding(ns, name, binding)
                done.append(f"removed from {where}")
                touched.append({"replaced": where, "subjects": remaining})
            else:
                kube.delete_role_binding(ns, name)
                done.append(f"deleted {where}")
                touched.append({"deleted": where})
        if not done:
            return ApplyResult(False, f"{user} is in no binding")
        return ApplyResult(True, "; ".join(done), to_yaml(touched))


ACTION = DenyAccess()
