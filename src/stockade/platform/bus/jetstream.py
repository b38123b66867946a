"""The `Bus` on NATS JetStream (id "nats", location `nats://host:port[,nats://...]`).

API nodes publish each agent batch on `stockade.batches.<agent id>` of one file-stored,
work-queue stream: as one message carrying the agent's request body as it came when it
fits, else as a few messages (`codec.split_batch`); `publish` returns
once JetStream acknowledged every message, i.e. has it on disk. Workers share one durable
pull consumer: each message goes to one of them, which acks it only after its handlers
(the store first) finished; a worker that dies leaves its messages to be redelivered to
another after `ACK_WAIT_S`. A message whose records follow a gap (its predecessor is still
being stored elsewhere) is handed back with a short delay. Redelivery stores nothing twice:
the store keeps each (agent, seq) once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections import defaultdict
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from stockade.platform.bus.base import BATCHES, BUSES, BatchHandler, BusError
from stockade.platform.bus.codec import (
    MAX_BODY_BYTES,
    decode_body,
    decode_message,
    encode_message,
    split_batch,
)
from stockade.platform.bus.inflight import RecordBudget
from stockade.platform.bus.signals import SIGNALS, SignalHandler
from stockade.platform.messages import CheckedBody, IngestBatch
from stockade.platform.store.base import SequenceGapError, UnknownAgentError

log = logging.getLogger(__name__)
STREAM = "STOCKADE_BATCHES"
DURABLE = "stockade-workers"
LAST_SEQ_HEADER = "Stockade-Last-Seq"
FORMAT_HEADER = "Stockade-Format"
AGENT_BODY = "agent-body"  # FORMAT_HEADER of a message that is an agent's request body
# a worker silent this long has its messages handed to another (set when the workers'
# durable consumer is first made; the crash tests shorten it)
ACK_WAIT_S = 30.0
FETCH_MESSAGES = 64
AGENTS_AT_ONCE = 32  # agents whose messages one worker handles at a time
# records one worker handles at a time: a few full agent batches (each its own transaction,
# several at once) or many small ones (stored in groups: group commit)
RECORDS_AT_ONCE = 4_000
FETCH_WAIT_S = 1.0
GAP_RETRY_S = 0.2  # the message before it is being stored by another worker
FAILURE_RETRY_S = 1.0
PUBLISH_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
DUPLICATE_WINDOW_S = 120.0  # a batch published again within this is dropped by JetStream
_AGENT_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_ERRORS = (nats.errors.Error, OSError, asyncio.TimeoutError)


def subject_of(subject: str, agent_id: str) -> str:
    """The subject one agent's batches go to; BusError for an id NATS cannot carry."""
    if not _AGENT_TOKEN.fullmatch(agent_id):
        raise BusError(f"agent id {agent_id!r} cannot be a NATS subject token")
    return f"{subject}.{agent_id}"


def parse_location(location: str) -> list[str]:
    """The server URLs of a `nats://host:port[,nats://host:port...]` location."""
    urls = [u.strip() for u in location.split(",") if u.strip()]
    if not urls or any(not re.fullmatch(r"(nats|tls)://[^/\s]+", u) for u in urls):
        raise BusError(f"the NATS bus needs a location like nats://HOST:4222, got {location!r}")
    return urls


class NatsBus:
    """A `Bus` between processes on NATS JetStream; connects at its first use."""

    def __init__(self, servers: list[str], connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self._servers = servers
        self._connect_timeout_s = connect_timeout_s  # how long a first connect keeps trying
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()
        self._handlers: defaultdict[str, list[BatchHandler]] = defaultdict(list)
        self._held: dict[str, int] = {}  # agent -> highest seq JetStream acknowledged to us
        self._subscription: JetStreamContext.PullSubscription | None = None

    async def _jetstream(self) -> JetStreamContext:
        async with self._lock:
            if self._js is not None:
                return self._js
            try:
                # once connected it reconnects for ever; a first connect gives up (the
                # caller answers 503 or retries) rather than hang in that loop
                nc = await asyncio.wait_for(
                    nats.connect(
                        servers=self._servers,
                        connect_timeout=2,
                        reconnect_time_wait=0.5,
                        max_reconnect_attempts=-1,
                        error_cb=_log_error,
                    ),
                    self._connect_timeout_s,
                )
            except _ERRORS as e:
                raise BusError(f"cannot reach NATS at {','.join(self._servers)}: {e}") from e
            js = nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
            try:
                await _ensure_stream(js)
            except _ERRORS as e:
                await nc.close()
                raise BusError(f"cannot set up stream {STREAM} on NATS: {e}") from e
            self._nc, self._js = nc, js
            return js

    def subscribe(self, subject: str, handler: BatchHandler) -> None:
        """Run `handler` on each message of `subject` that `consume` takes."""
        self._handlers[subject].append(handler)

    async def _client(self) -> Client:
        await self._jetstream()
        if self._nc is None:
            raise BusError("the NATS connection closed")
        return self._nc

    async def listen(self, topic: str, handler: SignalHandler) -> None:
        """Call `handler(key)` for every signal on `topic` any node sends (core NATS: every
        subscriber hears each one; the client subscribes again after a reconnect)."""

        async def deliver(message: Msg) -> None:
            handler(message.data.decode(errors="replace"))

        client = await self._client()
        try:
            await client.subscribe(f"{SIGNALS}.{topic}", cb=deliver)
            await client.flush()  # the server has the subscription once it answers
        except _ERRORS as e:
            raise BusError(f"cannot listen for {topic} signals on NATS: {e}") from e

    async def signal(self, topic: str, key: str) -> None:
        """Publish `key` on the topic's subject to every node (best effort: not stored)."""
        client = await self._client()
        try:
            await client.publish(f"{SIGNALS}.{topic}", key.encode())
        except _ERRORS as e:
            raise BusError(f"cannot send a {topic} signal on NATS: {e}") from e

    async def publish(self, subject: str, batch: IngestBatch | CheckedBody) -> None:
        """Publish the batch as messages; returns once JetStream holds every one on disk."""
        js = await self._jetstream()
        agent = batch.agent_id if isinstance(batch, CheckedBody) else batch.batch.agent_id
        target = subject_of(subject, agent)
        for payload, first, last, headers in _messages(batch):
            headers[api.Header.MSG_ID.value] = f"{agent}:{first}-{last}"
            headers[LAST_SEQ_HEADER] = str(last)
            try:
                await js.publish(target, payload, headers=headers, stream=STREAM)
            except _ERRORS as e:
                raise BusError(f"NATS did not take batch {first}..{last}: {e}") from e
            self._held[agent] = max(self._held.get(agent, 0), last)

    async def held_seq(self, agent_id: str, at_least: int) -> int:
        """What JetStream holds of the agent: from this node's publishes when they reach
        `at_least`, else the last message on the agent's subject (0 when consumed)."""
        held = self._held.get(agent_id, 0)
        if held and held >= at_least:
            return held
        js = await self._jetstream()
        try:
            last = await js.get_last_msg(STREAM, subject_of(BATCHES, agent_id))
        except nats.js.errors.NotFoundError:
            return held
        except _ERRORS as e:
            raise BusError(f"cannot read the last batch of agent {agent_id} from NATS: {e}") from e
        seq = int((last.headers or {}).get(LAST_SEQ_HEADER, 0))
        self._held[agent_id] = max(held, seq)
        return self._held[agent_id]

    async def consume(self) -> None:
        """Take batches from the shared durable consumer and run the handlers, until
        cancelled; the next messages are fetched while the last ones are handled."""
        handlers = self._handlers.get(BATCHES)
        if not handlers:
            raise BusError(f"nothing subscribed to {BATCHES}: nothing to consume for")
        fetching = asyncio.create_task(self._fetch())
        try:
            while True:
                messages = await fetching
                fetching = asyncio.create_task(self._fetch())
                await _deliver(messages, handlers)
        finally:
            fetching.cancel()

    async def _fetch(self) -> list[Msg]:
        """The next messages of the durable consumer; none after a timeout or failure."""
        try:
            if self._subscription is None:
                self._subscription = await _pull(await self._jetstream())
            return await self._subscription.fetch(FETCH_MESSAGES, timeout=FETCH_WAIT_S)
        except nats.errors.TimeoutError:
            return []
        except (*_ERRORS, BusError) as e:
            log.warning("cannot fetch batches from NATS: %s; retrying", e)
            await asyncio.sleep(FAILURE_RETRY_S)
            return []

    async def close(self) -> None:
        """Flush and close the connection."""
        async with self._lock:
            nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            try:
                await nc.drain()
            except _ERRORS:
                await nc.close()


def _messages(
    batch: IngestBatch | CheckedBody,
) -> list[tuple[bytes, int, int, dict[str, str]]]:
    """(payload, first seq, last seq, headers) of each message carrying the batch."""
    if isinstance(batch, CheckedBody):
        if len(batch.body) <= MAX_BODY_BYTES:
            return [(batch.body, batch.first_seq, batch.last_seq, {FORMAT_HEADER: AGENT_BODY})]
        batch = decode_body(batch.body)
    return [(encode_message(r), r.first_seq, r.last_seq, {}) for r in split_batch(batch)]


def _decode(message: Msg) -> IngestBatch:
    if (message.headers or {}).get(FORMAT_HEADER) == AGENT_BODY:
        return decode_body(message.data)
    return decode_message(message.data)


async def _log_error(e: Exception) -> None:
    log.warning("NATS connection: %s", e)


async def _ensure_stream(js: JetStreamContext) -> None:
    try:
        await js.stream_info(STREAM)
        return
    except nats.js.errors.NotFoundError:
        pass
    await js.add_stream(
        name=STREAM,
        subjects=[f"{BATCHES}.>"],
        retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        allow_direct=True,
    )


def ack_wait_s() -> float:
    """ACK_WAIT_S, or STOCKADE_NATS_ACK_WAIT_S when that is a positive number."""
    try:
        wait = float(os.environ.get("STOCKADE_NATS_ACK_WAIT_S", ""))
    except ValueError:
        return ACK_WAIT_S
    return wait if wait > 0 else ACK_WAIT_S


async def _pull(js: JetStreamContext) -> JetStreamContext.PullSubscription:
    config = api.ConsumerConfig(
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s(),
        max_deliver=-1,
        max_ack_pending=20_000,
    )
    return await js.pull_subscribe(f"{BATCHES}.>", durable=DURABLE, stream=STREAM, config=config)


async def _deliver(messages: list[Msg], handlers: list[BatchHandler]) -> None:
    """Run the handlers on each message and settle it: each agent's messages in sequence
    order, up to AGENTS_AT_ONCE agents' and RECORDS_AT_ONCE records at a time (a store
    that writes batches concurrently, or in groups, then shares its commits' costs)."""
    by_agent: defaultdict[str, list[Msg]] = defaultdict(list)
    for message in sorted(messages, key=_order):
        by_agent[_order(message)[0]].append(message)
    turns = asyncio.Semaphore(AGENTS_AT_ONCE)
    budget = RecordBudget(RECORDS_AT_ONCE)

    async def agent_in_order(queue: list[Msg]) -> None:
        async with turns:
            for message in queue:
                async with budget.hold(_records(message)):
                    await _deliver_one(message, handlers)

    await asyncio.gather(*(agent_in_order(queue) for queue in by_agent.values()))


async def _deliver_one(message: Msg, handlers: list[BatchHandler]) -> None:
    """Decode the message only when its turn comes, and let it go after: a fetch holds up
    to FETCH_MESSAGES batches, and all of them decoded at once would be hundreds of
    thousands of objects for the garbage collector to walk again and again."""
    try:
        batch = _decode(message)
    except Exception as e:  # noqa: BLE001  not one of ours: nothing can ever store it
        log.error("dropping a message on %s that is not a batch: %s", message.subject, e)
        await _settle(message.term())
        return
    await _settle(_handle(batch, message, handlers))


def _order(message: Msg) -> tuple[str, int]:
    """(agent, first seq) of a message, from its id `agent:first-last` (publish sets it)."""
    agent, _, seqs = (message.headers or {}).get(api.Header.MSG_ID.value, "").partition(":")
    first = seqs.partition("-")[0]
    return agent, int(first) if first.isdigit() else 0


def _records(message: Msg) -> int:
    """How many records a message carries, from its id (1 when it does not say)."""
    seqs = (message.headers or {}).get(api.Header.MSG_ID.value, "").rpartition(":")[2]
    first, _, last = seqs.partition("-")
    return int(last) - int(first) + 1 if first.isdigit() and last.isdigit() else 1


async def _handle(batch: IngestBatch, message: Msg, handlers: list[BatchHandler]) -> None:
    try:
        for handler in handlers:
            await handler(batch)
    except SequenceGapError:
        await message.nak(delay=GAP_RETRY_S)
    except UnknownAgentError as e:  # the agent was deleted: nothing will ever store this
        log.error("dropping batch %s: %s", _name(batch), e)
        await message.term()
    except Exception as e:  # noqa: BLE001  the store is down or failed: try again later
        log.warning("batch %s not stored, retrying: %s", _name(batch), e)
        await message.nak(delay=FAILURE_RETRY_S)
    else:
        await message.ack()


async def _settle(step: Any) -> None:
    """Await an ack/nak/term; when NATS is gone the message comes back after ACK_WAIT_S."""
    try:
        await step
    except _ERRORS as e:
        log.warning("cannot settle a batch with NATS: %s", e)


def _name(batch: IngestBatch) -> str:
    return f"{batch.batch.agent_id}:{batch.batch.first_seq}..{batch.batch.last_seq}"


def open_nats_bus(location: str) -> NatsBus:
    """A NATS JetStream bus at `location` (nothing is contacted until it is used)."""
    return NatsBus(parse_location(location))


BUSES.register("nats", open_nats_bus)
