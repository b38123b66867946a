"""Response policies pushed from the platform: one YAML document, checked, versioned, and
announced to every agent's long poll so each fetches it within a second."""

from __future__ import annotations

import time

from stockade.platform.errors import PlatformError
from stockade.platform.services.actions import ActionService, ActionStore
from stockade.platform.store.runner import StoreRunner
from stockade.platform.store.sqlite_actions import PolicyDocument
from stockade.respond.errors import PolicyError
from stockade.respond.policy import ResponsePolicy
from stockade.respond.policy_load import parse_policies

MAX_POLICY_BYTES = 1024 * 1024
PUSHED_NAME = "platform policies"  # where a pushed document's errors say they are


class PolicyRefused(PlatformError):
    """A policy document cannot be pushed; the message says what and where in it."""


class PolicyService:
    """Reads and replaces the pushed policy document."""

    def __init__(self, store: ActionStore, runner: StoreRunner, actions: ActionService) -> None:
        self._store = store
        self._runner = runner
        self._actions = actions

    async def current(self) -> tuple[PolicyDocument, list[ResponsePolicy]]:
        """The document and its policies."""
        document = await self._runner.read(self._store.get_policies)
        return document, parse_policies(document.yaml, PUSHED_NAME) if document.yaml else []

    async def replace(
        self, yaml: str, username: str
    ) -> tuple[PolicyDocument, list[ResponsePolicy]]:
        """Check and store a new document, then wake every agent to fetch it."""
        if len(yaml.encode()) > MAX_POLICY_BYTES:
            raise PolicyRefused(f"policy document over {MAX_POLICY_BYTES} bytes")
        try:
            policies = parse_policies(yaml, PUSHED_NAME)
        except PolicyError as e:
            raise PolicyRefused(str(e)) from e
        document = await self._runner.write(
            self._store.put_policies, yaml, username, time.time_ns()
        )
        await self._actions.wake_all()
        return document, policies
