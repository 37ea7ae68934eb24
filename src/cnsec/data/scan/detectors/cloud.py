# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""Cloud provider credentials: AWS, Google Cloud, Azure, Alibaba, DigitalOcean, Heroku, Cloudflare..."""

from __future__ import annotations

from cnsec.data.scan.detectors import Detector
from cnsec.data.scan.detectors._validators import B, E
from cnsec.model.severity import Severity as S

DETECTORS = (
    Detector(
        id="aws-access-key-id", title="AWS access key id", severity=S.HIGH,
        keywords=("akia", "asia", "abia", "acca", "a3t"),
        pattern=B + r"(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})" + E, reveal=4,
        description="An AWS IAM access key id (structure: a 4-letter kind prefix and 16 base32 chars).",
        examples=('aws_access_key_id = "AKIAQWADE5R42RDZ4JEM"',), counter_examples=("AKIA1234",)),
    Detector(
        id="aws-secret-access-key", title="AWS secret access key", severity=S.CRITICAL,
        keywords=("aws", "secretaccesskey", "secret_access_key", "secret-access-key"), ignore_case=True,
        pattern=r"(?:aws|secret_?access_?key|secret-access-key)[\w\-]{0,30}[\"']?\s*(?::|=|=>|:=)\s*[\"']?"
                r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
        min_entropy=3.8,
        examples=('aws_secret_access_key = "RMkMm8niUJ1iuhAA+AAyugy3fFt/rtrf7GFQ9xz1"',
                  '"SecretAccessKey" : "RMkMm8niUJ1iuhAA+AAyugy3fFt/rtrf7GFQ9xz1",'),
        counter_examples=('aws_secret_access_key = "0000000000000000000000000000000000000000"',)),
    Detector(
        id="aws-mws-key", title="Amazon MWS auth token", severity=S.HIGH, keywords=("amzn.mws.",),
        pattern=r"(?P<secret>amzn\.mws\.[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12})",
        reveal=9, examples=("amzn.mws.c1dg4haz-6xd6-4gqi-vna2-ed3whf71x9k6",)),
    Detector(
        id="aws-appsync-api-key", title="AWS AppSync GraphQL API key", severity=S.MEDIUM, keywords=("da2-",),
        pattern=B + r"(?P<secret>da2-[a-z0-9]{26})" + E, reveal=4,
        examples=('apiKey: "da2-b32ctqssd3cvbzap3msamjq6l1"',)),
    Detector(
        id="aws-bedrock-api-key", title="Amazon Bedrock API key", severity=S.HIGH,
        keywords=("bedrock-api-key-", "absk"),
        pattern=B + r"(?P<secret>bedrock-api-key-[A-Za-z0-9+/=]{32,}|ABSK[A-Za-z0-9+/]{100,}={0,2})",
        reveal=4, examples=("bedrock-api-key-vZKDJRzMKwJH6ewnj9FiyoUlZemipP2t",)),
    Detector(
        id="gcp-api-key", title="Google API key", severity=S.HIGH, keywords=("aiza",),
        pattern=B + r"(?P<secret>AIza[0-9A-Za-z_\-]{35})" + r"(?![A-Za-z0-9_\-])", reveal=4,
        examples=("key=AIzaSyD3xQ8Xf9mGq1yQ2vW3e4R5t6Y7u8I9o0P",)),
    Detector(
        id="gcp-service-account-key", title="Google Cloud service-account key file", severity=S.CRITICAL,
        keywords=("private_key_id",),
        pattern=r"\"private_key_id\"\s*:\s*\"(?P<secret>[a-f0-9]{40})\"",
        examples=('  "private_key_id": "3f1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a",',)),
    Detector(
        id="google-oauth-client-secret", title="Google OAuth client secret", severity=S.HIGH,
        keywords=("gocspx-",), pattern=B + r"(?P<secret>GOCSPX-[A-Za-z0-9_\-]{28})", reveal=7,
        examples=("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",)),
    Detector(
        id="google-oauth-access-token", title="Google OAuth access token", severity=S.HIGH,
        keywords=("ya29.",), pattern=B + r"(?P<secret>ya29\.[0-9A-Za-z_\-]{30,})", reveal=5,
        examples=("ya29.zmZDrADaFxE_IS6fl4sbDxCpH-ltO2BoHEwXOglsXbgd_S",)),
    Detector(
        id="google-oauth-refresh-token", title="Google OAuth refresh token", severity=S.HIGH,
        keywords=("1//0",), pattern=r"(?<![\w/])(?P<secret>1//0[0-9A-Za-z_\-]{40,})", reveal=4,
        examples=("1//0T4eRe15N0tT4Et0kEHY0U4Rel0Ok1ng4-hPyg7SWC7tZ1WE5vZvtCwqrJF9rLsyiKFeDGT_0ZHaf",)),
    Detector(
        id="azure-storage-account-key", title="Azure storage account key", severity=S.CRITICAL,
        keywords=("accountkey=", "jqqj9"),
        pattern=r"(?:(?<=AccountKey=)(?P<secret>[A-Za-z0-9+/]{86}==)"
                r"|(?<![A-Za-z0-9+/])(?P<bare>[A-Za-z0-9+/]{52}JQQJ9[0-9A-Za-z]{2}[A-Za-z0-9+/]{27}={0,2}))",
        min_entropy=3.5,
        examples=("DefaultEndpointsProtocol=https;AccountName=x;AccountKey="
                  "PtYgjmUhBel31iEl2hpChYgCfrL1spNxnyVmihA/2O76UMFxFkM/R5Kjp1vRt+1fjORS/6ilI8ihN5KXSc7Tvo==",)),
    Detector(
        id="azure-client-secret", title="Azure AD client secret", severity=S.HIGH, keywords=("q~",),
        pattern=r"(?<![A-Za-z0-9_~.\-])(?P<secret>[a-zA-Z0-9_~.\-]{3}\dQ~[a-zA-Z0-9_~.\-]{31,34})"
                r"(?![A-Za-z0-9_~.\-])",
        examples=('client_srt = "qpF8Q~PCM5MhMoyTFc5TYEomnzRUKim9UJhe8a2P";',)),
    Detector(
        id="alibaba-access-key-id", title="Alibaba Cloud AccessKey id", severity=S.HIGH, keywords=("ltai",),
        pattern=B + r"(?P<secret>LTAI[A-Za-z0-9]{12,20})" + E, reveal=4,
        examples=("f.write(LTAIwRQQQIlUKh25, AIu0vKQhkLAmcfDiTmCyCvfgKKXNLT)",)),
    Detector(
        id="digitalocean-token", title="DigitalOcean API token", severity=S.HIGH,
        keywords=("dop_v1_", "doo_v1_", "dor_v1_"),
        pattern=B + r"(?P<secret>do[por]_v1_[a-f0-9]{64})" + E, reveal=7,
        examples=("dop_v1_425522a565f532bc6532d453422e50334a42f5242a3090fbe553b543b124259b",)),
    Detector(
        id="heroku-api-key", title="Heroku API key", severity=S.HIGH, keywords=("hrku-",),
        pattern=B + r"(?P<secret>HRKU-(?:[A-Za-z0-9_\-]{60}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                r"-[0-9a-f]{12}))", reveal=5,
        examples=("HRKU-RAjCYR7Mai1JAIhHASD6ITENvdVydAPCnNcAlrMrTLozPkj9_BGqh1J5P4Wf",)),
    Detector(
        id="cloudflare-api-token", title="Cloudflare API token", severity=S.HIGH,
        keywords=("cfat_", "cfut_", "cfk_"), pattern=B + r"(?P<secret>cf(?:at|ut|k)_[A-Za-z0-9]{40,})" + E,
        reveal=5, examples=("cfat_ldxiugEl907l4fW6ViLbhZled5GG95J90dRk9JaDx4mIbbM4",)),
    Detector(
        id="hashicorp-vault-token", title="HashiCorp Vault token", severity=S.CRITICAL,
        keywords=("hvs.", "hvb.", "hvr."), pattern=B + r"(?P<secret>hv[sbr]\.[A-Za-z0-9_\-]{24,})", reveal=4,
        examples=("VAULT_TOKEN=hvs.CAESIJ4z2pL0kT1mQ9bX8wYvR7sU6tN5oP3qA2cD1eF0gH9",)),
    Detector(
        id="terraform-cloud-token", title="Terraform Cloud / HCP API token", severity=S.HIGH,
        keywords=(".atlasv1.",),
        pattern=B + r"(?P<secret>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70})",
        examples=("Z28P3STmkBQi1Y.atlasv1.YE7RBqu6VVyQIOq9a1eC3YFU5Elt7ToIr6OwzKAWlCTQ7N4gElXaWou6aPpOIwGCoc0",)),
    Detector(
        id="doppler-token", title="Doppler API token", severity=S.HIGH, keywords=("dp.pt.", "dp.st.", "dp.sa."),
        pattern=B + r"(?P<secret>dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})", reveal=6,
        examples=("dp.pt.GnUaQXtT9Fi2luokVezIZ3MGzgSUKYjqCk4efeKZuc7",)),
    Detector(
        id="databricks-token", title="Databricks access token", severity=S.HIGH, keywords=("dapi",),
        pattern=B + r"(?P<secret>dapi[a-f0-9]{32}(?:-\d)?)" + E, reveal=4,
        examples=("dapia8dc7528ecae9a70d7660b9eadff609d",)),
    Detector(
        id="akamai-credentials", title="Akamai EdgeGrid credential", severity=S.HIGH, keywords=("akab-",),
        pattern=B + r"(?P<secret>akab-[a-z0-9]{16}-[a-z0-9]{16})" + E, reveal=5,
        examples=("client_token = akab-tblc7jkffv3wfxh3-h5stbzeswb3v4kj3",)),
)
