"""The dashboard of ``cnsec serve``: server-rendered pages under ``/ui`` (Jinja2, htmx), no build step.

Pages read the serve tables through :mod:`cnsec.serve.ui.queries` (read only) and draw their charts as
SVG on the server (:mod:`cnsec.serve.ui.charts`); every change a person makes (triage, acknowledge,
approve) goes through the JSON API from ``static/cnsec.js``, so the dashboard holds no second copy of
the rules the API enforces. The Content-Security-Policy forbids inline script and style: templates
carry neither, and ``tests/serve/ui`` parses every page to hold them to it.
"""
