"""Alembic migration scripts of cnsec's one schema history (read by :mod:`cnsec.store.migrations`).

There is no ``env.py``: cnsec runs Alembic as a library, so the scripts here are the whole history.
A new table (assessments, findings, alerts …) is a new file in ``versions/`` whose ``down_revision``
is the current head, and :data:`cnsec.store.migrations.HEAD` moves to it.
"""
