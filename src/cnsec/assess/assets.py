"""Inventory → assets: type, exposure, criticality and data classification for each resource."""

from __future__ import annotations

import fnmatch
from typing import Any

from cnsec.assess.config import Config
from cnsec.assess.inventory import Inventory
from cnsec.k8s.resource import K8sResource
from cnsec.k8s.workload import WORKLOAD_KINDS, as_workload
from cnsec.model.asset import Asset, AssetType, Criticality, Exposure
from cnsec.model.source import Source

K8S_TYPES: dict[str, AssetType] = {
    "Service": AssetType.NETWORK, "Ingress": AssetType.NETWORK, "NetworkPolicy": AssetType.NETWORK,
    "Gateway": AssetType.NETWORK, "HTTPRoute": AssetType.NETWORK, "VirtualService": AssetType.NETWORK,
    "Endpoints": AssetType.NETWORK, "IngressClass": AssetType.NETWORK,
    "Secret": AssetType.SECRET, "ConfigMap": AssetType.CONFIG,
    "ServiceAccount": AssetType.IDENTITY, "Role": AssetType.IDENTITY, "ClusterRole": AssetType.IDENTITY,
    "RoleBinding": AssetType.IDENTITY, "ClusterRoleBinding": AssetType.IDENTITY,
    "PersistentVolumeClaim": AssetType.DATA_STORE, "PersistentVolume": AssetType.DATA_STORE,
    "StorageClass": AssetType.DATA_STORE, "Namespace": AssetType.NAMESPACE,
    "PodSecurityPolicy": AssetType.POLICY, "LimitRange": AssetType.POLICY,
    "ResourceQuota": AssetType.POLICY, "MutatingWebhookConfiguration": AssetType.POLICY,
    "ValidatingWebhookConfiguration": AssetType.POLICY, "Node": AssetType.CLUSTER,
}
DATA_IMAGES = ("postgres", "mysql", "mariadb", "mongo", "redis", "elasticsearch", "opensearch",
               "cassandra", "etcd", "memcached", "rabbitmq", "kafka", "minio", "couchdb", "clickhouse",
               "cockroach", "neo4j", "influxdb", "valkey", "zookeeper")

TF_DATA = ("aws_s3_bucket", "aws_db_instance", "aws_rds_cluster", "aws_ebs_volume", "aws_ebs_snapshot",
           "aws_dynamodb_table", "aws_elasticache", "aws_efs_file_system", "aws_redshift_cluster",
           "aws_sqs_queue", "aws_sns_topic", "aws_kinesis", "aws_neptune", "aws_docdb", "aws_elasticsearch",
           "aws_opensearch", "google_storage_bucket", "google_sql_database_instance", "google_bigquery",
           "google_compute_disk", "azurerm_storage_account", "azurerm_storage_container",
           "azurerm_sql", "azurerm_mssql", "azurerm_postgresql", "azurerm_mysql", "azurerm_cosmosdb",
           "azurerm_managed_disk", "aws_backup")
TF_NETWORK = ("aws_security_group", "aws_vpc", "aws_subnet", "aws_lb", "aws_alb", "aws_elb",
              "aws_network_acl", "aws_route", "aws_internet_gateway", "aws_cloudfront", "aws_api_gateway",
              "aws_apigatewayv2", "aws_flow_log", "google_compute_firewall", "google_compute_network",
              "google_compute_subnetwork", "azurerm_network_security", "azurerm_virtual_network",
              "azurerm_subnet", "azurerm_public_ip", "azurerm_application_gateway", "azurerm_lb")
TF_IDENTITY = ("aws_iam", "google_project_iam", "google_service_account", "google_storage_bucket_iam",
               "azurerm_role", "azuread", "google_organization_iam", "google_folder_iam")
TF_KEY = ("aws_kms", "google_kms", "azurerm_key_vault")
TF_CLUSTER = ("aws_eks", "google_container_cluster", "google_container_node_pool",
              "azurerm_kubernetes_cluster")
TF_WORKLOAD = ("aws_instance", "aws_launch", "aws_lambda", "aws_ecs", "google_compute_instance",
               "google_cloudfunctions", "azurerm_linux_virtual_machine", "azurerm_virtual_machine",
               "azurerm_windows_virtual_machine", "azurerm_app_service", "azurerm_function_app")
TF_SECRET = ("aws_secretsmanager", "aws_ssm_parameter", "google_secret_manager", "azurerm_key_vault_secret")

PUBLIC_ACLS = {"public-read", "public-read-write", "website", "authenticated-read"}
OPEN_CIDRS = {"0.0.0.0/0", "::/0", "*", "Internet", "Any"}


def k8s_asset_id(res: K8sResource) -> str:
    address = res.extra.get("terraform") if res.extra else None
    if address:  # declared in Terraform: its address is how the user finds it
        return str(address)
    ns = res.effective_namespace
    return f"{res.kind}/{ns}/{res.name}" if ns else f"{res.kind}/{res.name}"


def label_selects(selector: Any, labels: dict[str, Any]) -> bool:
    """Kubernetes label-selector semantics (matchLabels + matchExpressions, or a plain map)."""
    if not isinstance(selector, dict) or not selector:
        return False
    match = selector.get("matchLabels") if "matchLabels" in selector or "matchExpressions" in selector \
        else selector
    if isinstance(match, dict):
        for k, v in match.items():
            if str(labels.get(k)) != str(v) or k not in labels:
                return False
    exprs = selector.get("matchExpressions") if isinstance(selector, dict) else None
    if isinstance(exprs, list):
        for e in exprs:
            if not isinstance(e, dict):
                continue
            key, op, values = str(e.get("key")), e.get("operator"), [str(x) for x in e.get("values") or []]
            has = key in labels
            val = str(labels.get(key))
            if (op == "In" and not (has and val in values)) or (op == "NotIn" and has and val in values) \
                    or (op == "Exists" and not has) or (op == "DoesNotExist" and has):
                return False
    return True


def _list(value: Any) -> list[Any]:
    """A list field as a list; a wrongly typed one (a string, a number, a mapping) as empty."""
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def ingress_service_names(ing: K8sResource) -> set[str]:
    """Names of the Services an Ingress routes to (default backend, legacy and v1 backends)."""
    names: set[str] = set()
    spec = _dict(ing.doc.get("spec"))
    backends: list[Any] = [spec.get("defaultBackend"), spec.get("backend")]
    for rule in _list(spec.get("rules")):
        if isinstance(rule, dict):
            for p in _list(_dict(rule.get("http")).get("paths")):
                if isinstance(p, dict):
                    backends.append(p.get("backend"))
    for b in backends:
        if not isinstance(b, dict):
            continue
        svc = b.get("service")
        if isinstance(svc, dict) and svc.get("name"):
            names.add(str(svc["name"]))
        elif b.get("serviceName"):
            names.add(str(b["serviceName"]))
    return names


def _k8s_assets(inv: Inventory) -> list[Asset]:
    services = inv.of_kind("Service")
    exposed_services: set[tuple[str | None, str]] = set()
    for svc in services:
        if svc.get("spec", "type") in ("LoadBalancer", "NodePort") or svc.get("spec", "externalIPs"):
            exposed_services.add((svc.effective_namespace, svc.name))
    for ing in inv.of_kind("Ingress"):
        for name in ingress_service_names(ing):
            exposed_services.add((ing.effective_namespace, name))
    for route in inv.of_kind("HTTPRoute", "VirtualService"):
        spec = _dict(route.doc.get("spec"))
        for rule in _list(spec.get("rules") or spec.get("http")):
            if isinstance(rule, dict):
                for ref in _list(rule.get("backendRefs") or rule.get("route")):
                    if isinstance(ref, dict):
                        host = _dict(ref.get("destination")).get("host") if "destination" in ref \
                            else ref.get("name")
                        if host:
                            exposed_services.add((route.effective_namespace, str(host).split(".")[0]))
    # Services indexed by (namespace, one label pair of their selector): a workload only looks at
    # services that share at least one label with it, not at every service of its namespace.
    services_by_label: dict[tuple[str | None, str, str], list[K8sResource]] = {}
    for svc in services:
        sel = svc.get("spec", "selector")
        if isinstance(sel, dict) and sel:
            k, v = min((str(k), str(v)) for k, v in sel.items())
            services_by_label.setdefault((svc.effective_namespace, k, v), []).append(svc)
    assets: list[Asset] = []
    seen: dict[str, int] = {}
    for res in inv.k8s:
        base = k8s_asset_id(res)
        n = seen.get(base, 0)
        seen[base] = n + 1
        res.key = base if n == 0 else f"{base}#{n + 1}"
        kind = res.kind
        atype = AssetType.WORKLOAD if kind in WORKLOAD_KINDS else K8S_TYPES.get(kind, AssetType.OTHER)
        exposure = Exposure.NONE
        criticality = Criticality.MEDIUM
        data: tuple[str, ...] = ()
        attrs: dict[str, Any] = {}
        if atype is AssetType.WORKLOAD:
            w = as_workload(res)
            exposure = Exposure.CLUSTER
            if w is not None:
                images = [c.image for c in w.containers]
                attrs["images"] = images
                if any(any(d in img.lower().rsplit("/", 1)[-1] for d in DATA_IMAGES) for img in images):
                    atype = AssetType.DATA_STORE
                    criticality = Criticality.HIGH
                    data = ("confidential",)
                labels = w.pod_labels
                ns = res.effective_namespace
                candidates: dict[int, K8sResource] = {}
                for k, v in labels.items():
                    for svc in services_by_label.get((ns, str(k), str(v)), ()):
                        candidates[id(svc)] = svc
                for svc in candidates.values():
                    if label_selects(svc.get("spec", "selector"), labels):
                        attrs.setdefault("services", []).append(svc.name)
                        if (svc.effective_namespace, svc.name) in exposed_services:
                            exposure = Exposure.INTERNET
                if w.pod.get("hostNetwork") is True:
                    attrs["host_network"] = True
        elif kind == "Service":
            exposure = Exposure.INTERNET if (res.effective_namespace, res.name) in exposed_services \
                else Exposure.CLUSTER
        elif kind in ("Ingress", "Gateway"):
            exposure = Exposure.INTERNET
        elif atype is AssetType.SECRET:
            criticality = Criticality.HIGH
            data = ("secret",)
        elif kind in ("ClusterRole", "ClusterRoleBinding"):
            criticality = Criticality.HIGH
        elif atype is AssetType.DATA_STORE:
            criticality = Criticality.HIGH
            data = ("confidential",)
        assets.append(Asset(id=res.key, type=atype, kind=kind, name=res.name,
                            namespace=res.effective_namespace, source=Source(res.file, res.line),
                            exposure=exposure, criticality=criticality, data_classes=data, attrs=attrs))
    return assets


def _tf_type(rtype: str) -> AssetType:
    for prefixes, atype in ((TF_SECRET, AssetType.SECRET), (TF_KEY, AssetType.KEY),
                            (TF_DATA, AssetType.DATA_STORE), (TF_NETWORK, AssetType.NETWORK),
                            (TF_IDENTITY, AssetType.IDENTITY), (TF_CLUSTER, AssetType.CLUSTER),
                            (TF_WORKLOAD, AssetType.WORKLOAD)):
        if rtype.startswith(prefixes):
            return atype
    return AssetType.OTHER


def _tf_public(r: Any) -> bool:
    t = r.type
    if t == "aws_s3_bucket" or t == "aws_s3_bucket_acl":
        return str(r.get("acl")) in PUBLIC_ACLS
    if t in ("aws_db_instance", "aws_rds_cluster_instance", "aws_redshift_cluster"):
        return r.get("publicly_accessible") is True
    if t == "aws_instance":
        return r.get("associate_public_ip_address") is True
    if t in ("aws_lb", "aws_alb", "aws_elb"):
        return r.get("internal") is not True
    if t == "aws_eks_cluster":
        vpc = r.get("vpc_config")
        return not (isinstance(vpc, dict) and vpc.get("endpoint_public_access") is False)
    if t in ("aws_security_group", "aws_security_group_rule", "aws_vpc_security_group_ingress_rule"):
        rules = r.blocks("ingress") if t == "aws_security_group" else [r.attrs]
        for rule in rules:
            if t == "aws_security_group_rule" and rule.get("type") != "ingress":
                continue
            cidrs = rule.get("cidr_blocks") or rule.get("cidr_ipv4") or []
            cidrs = cidrs if isinstance(cidrs, list) else [cidrs]
            if any(str(c) in OPEN_CIDRS for c in cidrs):
                return True
        return False
    if t == "google_compute_firewall":
        return any(str(c) in OPEN_CIDRS for c in _list(r.get("source_ranges")))
    if t == "azurerm_storage_account":
        return r.get("allow_nested_items_to_be_public") is True or r.get("allow_blob_public_access") is True
    if t == "azurerm_storage_container":
        return str(r.get("container_access_type")) in ("blob", "container")
    return False


def build_assets(inv: Inventory, config: Config) -> list[Asset]:
    assets = _k8s_assets(inv)
    seen: dict[str, int] = {}
    for df in inv.dockerfiles:
        df.key = f"Image/{inv.stable_path(df.file)}"
        assets.append(Asset(id=df.key, type=AssetType.IMAGE, kind="Dockerfile", name=df.file,
                            source=Source(df.file, 1), exposure=Exposure.NONE))
    for r in inv.terraform:
        address = r.address
        n = seen.get(address, 0)
        seen[address] = n + 1
        # a repeated address (a module used twice): told apart by the module's root file
        r.key = address if n == 0 else f"{address}@{inv.stable_path(r.via[0][0] if r.via else r.file)}"
        atype = _tf_type(r.type)
        public = _tf_public(r)
        crit = Criticality.HIGH if atype in (AssetType.DATA_STORE, AssetType.KEY, AssetType.SECRET,
                                              AssetType.CLUSTER, AssetType.IDENTITY) else Criticality.MEDIUM
        data = ("confidential",) if atype is AssetType.DATA_STORE else (
            ("secret",) if atype in (AssetType.SECRET, AssetType.KEY) else ())
        exposure = Exposure.INTERNET if public else (
            Exposure.CLUSTER if atype in (AssetType.WORKLOAD, AssetType.DATA_STORE, AssetType.CLUSTER)
            else Exposure.NONE)
        assets.append(Asset(id=r.key, type=atype, kind=r.type, name=r.name, source=Source(r.file, r.line),
                            exposure=exposure, criticality=crit, data_classes=data,
                            attrs={"provider": r.provider}))
    _apply_labels_and_overrides(inv, assets, config)
    return assets


def _apply_labels_and_overrides(inv: Inventory, assets: list[Asset], config: Config) -> None:
    by_key = {r.key: r for r in inv.k8s}
    for a in assets:
        res = by_key.get(a.id)
        if res is not None:
            meta = {**res.labels, **res.annotations}
            crit = meta.get("cnsec.io/criticality")
            if isinstance(crit, str) and crit.lower() in ("high", "medium", "low"):
                a.criticality = Criticality(crit.lower())
            dc = meta.get("cnsec.io/data-classification")
            if isinstance(dc, str) and dc.strip():
                a.data_classes = tuple(x.strip() for x in dc.split(",") if x.strip())
        for rule in config.assets:
            if fnmatch.fnmatchcase(a.id, rule.match):
                if rule.criticality:
                    a.criticality = Criticality(rule.criticality)
                if rule.data_classes is not None:
                    a.data_classes = tuple(rule.data_classes)
                if rule.exposure:
                    a.exposure = Exposure(rule.exposure)
