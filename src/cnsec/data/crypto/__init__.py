"""Envelope encryption: versioned keys, key providers and the streaming sealed-file format.

The format is documented in ``docs/formats.md``; every primitive comes from ``cryptography``.
"""
