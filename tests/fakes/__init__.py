"""Fakes of outside services, reached only through their real network protocols."""
