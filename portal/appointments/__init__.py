"""Appointments: what can be booked (plans, closures, slots) and the booking itself."""
