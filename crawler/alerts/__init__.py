"""Alerts: matches of ``[[alerts]]`` sent through apprise, once per target (see README)."""
