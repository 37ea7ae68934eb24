"""What the server does, as plain functions over a :class:`~cnsec.serve.context.ServeContext`.

The API routes (:mod:`cnsec.serve.routes`), the dashboard and the command line call the same functions, so
a rule (who may see what, what a triage records in the audit trail) lives in one place. A service raises
:class:`~cnsec.serve.errors.ApiError` for what the caller got wrong (unknown id, bad cursor); anything else
is a bug.
"""
