# cnsec:ignore-file detector examples and test values are synthetic, never real credentials
"""Source hosting, CI and package-registry tokens: GitHub, GitLab, Bitbucket, Atlassian, npm, PyPI..."""

from __future__ import annotations

from cnsec.data.scan.detectors import Detector
from cnsec.data.scan.detectors._validators import B, E, atlassian_pat, github_checksum
from cnsec.model.severity import Severity as S

DETECTORS = (
    Detector(
        id="github-token", title="GitHub token", severity=S.CRITICAL,
        keywords=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        pattern=B + r"(?P<secret>gh[pousr]_[A-Za-z0-9]{36})" + E, validate=github_checksum, reveal=4,
        description="A GitHub personal, OAuth, app or refresh token; the trailing CRC32 checksum is verified.",
        examples=("token: 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",),
        counter_examples=("token: ghp_Zk3J9xQpL0aB7cD2eF4gH6iJ8kL0m1AAAAAA",)),
    Detector(
        id="github-app-installation-token", title="GitHub app installation token (JWT form)",
        severity=S.HIGH, keywords=("ghs_",),
        pattern=B + r"(?P<secret>ghs_\d{8}_eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)", reveal=4,
        examples=("ghs_20260523_eyJhbGciOiJSUzI1NiJ9.eyJpYXQiOjE3OTI1MjE0NTB9.Ce7sh0ENPiBlE_dose0cBA",)),
    Detector(
        id="github-fine-grained-pat", title="GitHub fine-grained personal access token", severity=S.CRITICAL,
        keywords=("github_pat_",), pattern=B + r"(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + E,
        reveal=11,
        examples=("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",)),
    Detector(
        id="gitlab-token", title="GitLab token", severity=S.CRITICAL,
        keywords=("glpat-", "gloas-", "gldt-", "glrt-", "glcbt-", "glptt-", "glft-", "glimt-", "glagent-",
                  "glsoat-", "glffct-", "glrtr-", "glwt-", "gr1348941", "_gitlab_session="),
        pattern=B + r"(?P<secret>(?:glpat|gloas|gldt|glrt|glrtr|glcbt|glptt|glft|glimt|glagent|glsoat|glffct"
                r"|glwt)-[A-Za-z0-9_.\-]{20,}|GR1348941[A-Za-z0-9_\-]{20}|(?<=_gitlab_session=)[0-9a-f]{32})",
        reveal=6,
        examples=("glpat-8d5ri2n9g85LAnC9YW85.01.cgpAsnEmP", "GR1348941jG6xeSsmN8DFVKoyBYu2")),
    Detector(
        id="bitbucket-app-password", title="Bitbucket app password", severity=S.HIGH, keywords=("atbb",),
        pattern=B + r"(?P<secret>ATBB[A-Za-z0-9_=.\-]{28,})" + E, reveal=4,
        examples=("app_sample:ATBBcCe6fczW96Vzwgvb4r8F2gZS54D591C4",)),
    Detector(
        id="bitbucket-access-token", title="Bitbucket / Bitbucket Data Center access token", severity=S.HIGH,
        keywords=("atctt3xffgn0", "bbdc-"),
        pattern=B + r"(?P<secret>ATCTT3xFfGN0[A-Za-z0-9_=\-]{100,}|BBDC-[A-Za-z0-9+/@_\-]{44})", reveal=5,
        examples=('"bitbucket" : "BBDC-MzQ2Njc4NjkyMDgwOsEidtxMt9WDExIOYPEWBFXH093l"',)),
    Detector(
        id="atlassian-api-token", title="Atlassian API token", severity=S.HIGH, keywords=("atatt3xffgf0",),
        pattern=B + r"(?P<secret>ATATT3xFfGF0[A-Za-z0-9_=\-]{100,})", reveal=12,
        examples=("ATLASSIAN = ATATT3xFfGF0vNZ7oy6ON4KrWEzKEu96n-r2bCLOOcdOADizvJqPd89yKyP853uTZSflBi1Lk1zD460Bq"
                  "yMTa08fHqW2xZ9rT5uYv0wQ1eR3tY6uI8oP0aS2dF4gH6jK8lZ0xC",)),
    Detector(
        id="atlassian-pat", title="Jira / Confluence personal access token", severity=S.HIGH,
        keywords=(), anchor=r"[MNO][DTjz][A-Za-z0-9]{14}O[A-Za-z0-9]{27}",
        pattern=r"(?<![A-Za-z0-9+])(?P<secret>[MNO][DTjz][A-Za-z0-9]{14}O[A-Za-z0-9]{27})(?![A-Za-z0-9+/=])",
        validate=atlassian_pat,
        examples=("TP: https://www.example.com/api/token/OTI2NjA3NjU1NTI2Oh2DOnASdOHoIhEGyqIuYrdkYaQZ",)),
    Detector(
        id="npm-token", title="npm access token", severity=S.HIGH, keywords=("npm_",),
        pattern=B + r"(?P<secret>npm_[A-Za-z0-9]{36})" + E, reveal=4,
        examples=("//registry.npmjs.org/:_authToken=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",)),
    Detector(
        id="pypi-token", title="PyPI upload token", severity=S.HIGH, keywords=("pypi-ageichlwas5vcmc",),
        pattern=B + r"(?P<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,})", reveal=5,
        examples=("password = pypi-AgEIcHlwaS5vcmcCJDg5MTllXWJjLTRhODAtNDBhYi01Y2Y4LThjNjcxZTg3MsRjOAACKlsz",)),
    Detector(
        id="rubygems-api-key", title="RubyGems API key", severity=S.HIGH, keywords=("rubygems_",),
        pattern=B + r"(?P<secret>rubygems_[a-f0-9]{48})" + E, reveal=9,
        examples=("rubygems_2676e0138d75572e758e2b2252713061b8f26caf7f21630d",)),
    Detector(
        id="nuget-api-key", title="NuGet API key", severity=S.HIGH, keywords=(), anchor=r"oy2[a-z0-9]{43}",
        pattern=B + r"(?P<secret>oy2[a-z0-9]{43})" + E, min_entropy=3.5,
        examples=("k = 'oy2mlf2v7jl2firuegfqwzc4zxyebz3ethzd14g4hw4iam'",)),
    Detector(
        id="clojars-token", title="Clojars deploy token", severity=S.HIGH, keywords=("clojars_",),
        pattern=B + r"(?P<secret>CLOJARS_[a-z0-9]{60})" + E, reveal=8,
        examples=("CLOJARS_056348c712d9ab678ef014cd459e23ab3f01f0122567de37889abc9ab456",)),
    Detector(
        id="docker-hub-token", title="Docker Hub access token", severity=S.HIGH,
        keywords=("dckr_pat_", "dckr_oat_"), pattern=B + r"(?P<secret>dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,32})",
        reveal=9, examples=("POSITIVE: dckr_pat_mcF-hLK_JoBxXUNJy1kU7-WSbk0",),
        counter_examples=("NEGATIVE: dckr_pat_EXAMPLE-EXAMPLE-EXAMPLE-123",)),
    Detector(
        id="docker-swarm-secret", title="Docker Swarm join token or unlock key", severity=S.HIGH,
        keywords=("swmtkn-", "swmkey-"),
        pattern=B + r"(?P<secret>SWMTKN-1-[a-z0-9]{50}-[a-z0-9]{25}|SWMKEY-1-[A-Za-z0-9+/]{43})", reveal=9,
        examples=("SWMKEY-1-fySn8TY4w5lKcWcJPIpKufejh9hxx5KYwx6XZigx3Q4",)),
    Detector(
        id="jfrog-token", title="JFrog Artifactory token", severity=S.HIGH, keywords=("akcp", "cmvmdgtu"),
        pattern=B + r"(?P<secret>AKCp[A-Za-z0-9]{69}|cmVmdGtu[A-Za-z0-9]{56})" + E, reveal=4,
        examples=("cmVmdGtuOjAxOjAxMjM0NTY3ODk6QWJjZGVmR2hpamtsbW5vUHFyc3R1dnd4eXow",)),
    Detector(
        id="sonarqube-token", title="SonarQube token", severity=S.MEDIUM, keywords=("squ_", "sqp_", "sqa_"),
        pattern=B + r"(?P<secret>sq[upa]_[a-f0-9]{40})" + E, reveal=4,
        examples=("-Dsonar.login=squ_5f6278f46c0697b8ce6a07cfaabf363b5a97a984",)),
    Detector(
        id="postman-api-key", title="Postman API key", severity=S.MEDIUM, keywords=("pmak-", "pmat-"),
        pattern=B + r"(?P<secret>PMAK-[a-f0-9]{24}-[a-f0-9]{34}|PMAT-[A-Z0-9]{26})" + E, reveal=5,
        examples=("PMAK-be68a955d73619000f121d77-1d6ce2aa99d4b222bcc9fc01f345cf3168",)),
)
