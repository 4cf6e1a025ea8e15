"""An illustrative agency, so every screen of the demo has something meaningful on it."""
