"""How messaging tells the portal what people and providers said.

Receivers are registered by the portal (messaging never imports it). A receiver of
:data:`reply_received` returns the answer text to send back, in the person's language,
or None when it could not act on the reply (the reply then stays in the operator inbox).
"""

from blinker import Namespace

_signals = Namespace()

#: sender: the InboundMessage; kwargs: intent ("confirm" | "cancel"), message (the
#: outbox Message it answers), session (the open Session; the receiver flushes only).
reply_received = _signals.signal("reply-received")

#: sender: the Message; kwargs: status (the provider's), error_code, session.
delivery_updated = _signals.signal("delivery-updated")
