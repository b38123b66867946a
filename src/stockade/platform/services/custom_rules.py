"""Custom rules on the platform: files checked by the agent's rule compiler before they are
stored, rules switched on or off, the bundle agents fetch, and what each agent loaded.

A change is checked and stored on the store's writer thread, one at a time: the check
compiles the default rules with every custom file as it would be after the change, so a
file that breaks another (a macro it used is gone) is refused as well.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stockade.platform.errors import PlatformError
from stockade.platform.store.runner import StoreRunner
from stockade.platform.store.sqlite_rules import (
    AgentRuleLoad,
    RuleFileVersion,
    SqliteRuleStore,
)
from stockade.rules.custom import (
    RuleBundle,
    RuleFileText,
    RuleLoadReport,
    bundle_errors,
    bundle_hash,
    check_file_name,
    load_with_bundle,
)
from stockade.rules.default import default_rule_paths
from stockade.rules.ruleset import Ruleset

MAX_RULE_FILE_BYTES = 1024 * 1024


# the effective ruleset last compiled, by (base files, bundle sha256): at most one is kept
_last_effective: dict[tuple[tuple[str, ...], str], Ruleset] = {}


class RulesRefused(PlatformError):
    """A rule change cannot be taken: the message is the first error, file:line:column."""


class UnknownRuleFile(PlatformError):
    """No custom rule file (or version, or rule) by this name."""


@dataclass(frozen=True, slots=True)
class EffectiveRules:
    """The default rules with the custom ones loaded after them, at one revision."""

    revision: int
    sha256: str
    ruleset: Ruleset
    custom_files: frozenset[str]
    toggles: dict[str, bool]


def _text_problem(name: str, content: str) -> str | None:
    """Why `content` cannot be stored as text (every store keeps UTF-8 without NUL)."""
    try:
        content.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"{name}: the content is not valid text (character {e.start}: {e.reason})"
    if "\x00" in content:
        return f"{name}: the content holds a NUL character (at {content.index(chr(0))})"
    return None


class RuleService:
    """Custom rule files and switches: checked, versioned, bundled for agents."""

    def __init__(
        self, store: SqliteRuleStore, runner: StoreRunner, base: Sequence[Path] | None = None
    ) -> None:
        self._store = store
        self._runner = runner
        self._base = list(base) if base is not None else default_rule_paths()

    async def files(self) -> list[RuleFileVersion]:
        """The current version of every custom file, by name."""
        return await self._runner.read(self._store.files)

    async def file(self, name: str, version: int | None = None) -> RuleFileVersion:
        """A file's latest version, or `version`; UnknownRuleFile when there is none."""
        found = await self._runner.read(self._store.file, name, version)
        if found is None:
            which = f" version {version}" if version else ""
            raise UnknownRuleFile(f"no custom rule file {name!r}{which}")
        return found

    async def versions(self, name: str) -> list[RuleFileVersion]:
        """Every version of a file (deletions included), newest first."""
        found = await self._runner.read(self._store.versions, name)
        if not found:
            raise UnknownRuleFile(f"no custom rule file {name!r}")
        return found

    async def put(self, name: str, content: str, username: str) -> int:
        """Check and store a file's next version; its number. RulesRefused when it fails."""
        problem = check_file_name(name) or _text_problem(name, content)
        if problem is not None:
            raise RulesRefused(problem)
        return await self._runner.write(self._put, name, content, username)

    def _put(self, name: str, content: str, username: str) -> int:
        files = {f.name: f.content for f in self._store.files()}
        files[name] = content
        self._check(files, self._toggles())
        sha = hashlib.sha256(content.encode()).hexdigest()
        return self._store.put_file(name, content, sha, username, time.time_ns())

    async def delete(self, name: str, username: str) -> int:
        """Delete a file (a version marking it deleted), unless other files need it."""
        return await self._runner.write(self._delete, name, username)

    def _delete(self, name: str, username: str) -> int:
        files = {f.name: f.content for f in self._store.files()}
        if files.pop(name, None) is None:
            raise UnknownRuleFile(f"no custom rule file {name!r}")
        ruleset = self._check(files, {}, toggles_too=False)
        known = {r.name for r in ruleset.rules}
        toggles = self._toggles()
        gone: dict[str, bool | None] = {r: None for r in toggles if r not in known}
        if gone:  # switches of rules that went with the file
            self._store.set_toggles(gone, username, time.time_ns())
        self._check(files, {r: v for r, v in toggles.items() if r in known})
        return self._store.put_file(name, "", "", username, time.time_ns(), deleted=True)

    async def set_enabled(self, rule: str, enabled: bool | None, username: str) -> None:
        """Switch one rule on or off by name (None: drop the switch); UnknownRuleFile when
        no rule, default or custom, has that name."""
        await self._runner.write(self._set_enabled, rule, enabled, username)

    def _set_enabled(self, rule: str, enabled: bool | None, username: str) -> None:
        files = {f.name: f.content for f in self._store.files()}
        if rule not in {r.name for r in self._check(files, {}, toggles_too=False).rules}:
            raise UnknownRuleFile(f"no rule named {rule!r} in the default or custom rules")
        self._store.set_toggles({rule: enabled}, username, time.time_ns())

    def _toggles(self) -> dict[str, bool]:
        return {t.rule: t.enabled for t in self._store.toggles()}

    def _check(
        self, files: dict[str, str], toggles: dict[str, bool], toggles_too: bool = True
    ) -> Ruleset:
        texts = [RuleFileText(n, c) for n, c in sorted(files.items())]
        ruleset = load_with_bundle(self._base, texts, toggles if toggles_too else {})
        errors = bundle_errors(ruleset, texts)
        if errors:
            raise RulesRefused(str(errors[0]))
        return ruleset

    def _bundle(self) -> RuleBundle:
        revision = self._store.revision()
        files = [RuleFileText(f.name, f.content) for f in self._store.files()]
        toggles = self._toggles()
        return RuleBundle(revision, bundle_hash(files, toggles), files, toggles)

    async def bundle(self, since: int = -1) -> RuleBundle:
        """The bundle agents load; only its revision when that is still `since`."""
        revision = await self._runner.read_for_agent(self._store.revision)
        if revision == since:
            return RuleBundle(revision=revision, unchanged=True)
        return await self._runner.read_for_agent(self._bundle)

    async def effective(self) -> EffectiveRules:
        """The default rules with the custom ones after them, compiled as agents do."""
        bundle = await self._runner.read(self._bundle)
        key = (tuple(str(p) for p in self._base), bundle.sha256)
        ruleset = _last_effective.get(key)
        if ruleset is None:  # compiled once per bundle: the console asks every few seconds
            ruleset = await self._runner.read(
                load_with_bundle, self._base, bundle.files, bundle.toggles
            )
            _last_effective.clear()
            _last_effective[key] = ruleset
        custom = frozenset(f.name for f in bundle.files)
        return EffectiveRules(bundle.revision, bundle.sha256, ruleset, custom, bundle.toggles)

    async def record_load(self, agent_id: str, report: RuleLoadReport) -> None:
        """Keep what an agent reported loading."""
        load = AgentRuleLoad(
            agent_id, report.revision, report.sha256, report.error, report.rules, time.time_ns()
        )
        await self._runner.write(self._store.record_load, load)

    async def loads(self) -> list[AgentRuleLoad]:
        """Every agent's latest report, by agent id."""
        return await self._runner.read(self._store.loads)
