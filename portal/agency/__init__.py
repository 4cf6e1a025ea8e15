"""The agency itself: its offices, their opening hours, and the services it offers."""
