"""The operator console: helpline and front-desk staff find callers, fill intakes for them and log calls."""
