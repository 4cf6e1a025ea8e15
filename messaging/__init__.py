"""Messaging: the outbox, its dispatcher and channels.

A library the portal uses; it never imports ``portal``. The portal tells it what to
send, to whom, when and under which idempotency key; it tells the portal about replies
and deliveries through signals.
"""
