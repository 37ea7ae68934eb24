"""``GET /metrics``: the server's Prometheus metrics, for a scraper holding an API key with
``metrics:read`` (request counts and latency by route template, ingest events, queue depth, alerts)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from cnsec.serve import metrics
from cnsec.serve.auth import require
from cnsec.serve.context import ServeContext, context

router = APIRouter(tags=["metrics"])


@router.get("/metrics", dependencies=[require("metrics:read")], response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
def scrape(ctx: ServeContext = Depends(context)) -> Response:
    data, content_type = metrics.render(ctx)
    return Response(data, media_type=content_type)
