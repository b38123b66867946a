"""What the rule engine reads from an event, for tests that check one field's value."""

from __future__ import annotations

from stockade.model import Event
from stockade.rules.fields import FIELDS


def field_value(event: Event, name: str, arg: str | None = None) -> object:
    """The value the rule engine reads for field `name` (with `arg`) from `event`."""
    definition, effective = FIELDS.lookup(name, arg)
    return definition.extractor(effective)(event)
