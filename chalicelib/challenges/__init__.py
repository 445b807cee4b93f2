"""A code that is sent (or shown by the member's authenticator), then checked.

``codes``: the 6-digit code and its keyed hash; ``send``: write, send, undo under the
limits; ``verify``: count, compare, consume; ``receipts`` and ``feedback``: what the
providers report afterwards. Journeys say which step; this package says how.
"""
