"""Hunting: read-only SQL over the platform's stored events, alerts and inventory."""
