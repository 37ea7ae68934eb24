"""Every store test runs on SQLite and, with CNSEC_TEST_POSTGRES, on PostgreSQL (the IAM fixture)."""

from tests.iam.conftest import db_url

__all__ = ["db_url"]
