"""The detection bus on NATS JetStream (issue 17): a transport, not an engine.

Events go to the stream ``CNSEC_EVENTS`` on subjects ``cnsec.events.<partition>``; the publisher
hashes each event's correlation key into one of P partitions (see :mod:`.publisher` for why on the
publisher's side). Each partition is worked by one worker at a time, which holds its lease in the KV
bucket ``cnsec_leases`` (TTL; renewed by compare-and-set), reads it through a durable pull consumer,
checkpoints the detector's snapshot with the stream sequence it reflects in the object store
``cnsec_checkpoints``, and publishes the alert updates each event message caused to
``cnsec.alerts.<partition>`` (stream ``CNSEC_ALERTS``), named ``Nats-Msg-Id =
a<incarnation>.<partition>.<stream sequence>.<part>`` (the incarnation names the events stream: a
stream made again numbers from 1 again): a replay makes the same messages, which the stream stores
once. An event the detector cannot take is parked on ``cnsec.dead.<partition>`` (stream ``CNSEC_DEAD``) with the
reason, and the partition goes on. docs/scale.md has the deployment and the measured limits.

The detection engine comes in through :class:`.processor.Processor` (``cnsec detect --bus`` passes
it): this package imports nothing of the detect pillar.
"""
