"""Ingest: events posted to the server are queued durably, then run through the detector into alerts.

The path of one request: :mod:`.parse` turns the body (an audit-webhook ``EventList``, Falco output,
JSON lines) into event lines; :mod:`.queue` commits them as one row and only then is the request
acknowledged; :mod:`.worker` takes rows in order, feeds them to :class:`cnsec.detect.Detector` and
upserts the alerts; :mod:`.alerts` is what people do with them (acknowledge, assign, close, comment).

Why nothing is lost or doubled across a crash: an alert is stored with its *absolute* state (count,
last seen, evidence) under the detector's deterministic id, so replaying rows already seen rewrites
the same values; the detector's snapshot and the queue position it reflects are written in the one
transaction that deletes the rows it covers, and a restart restores that snapshot and replays the rest.
"""
