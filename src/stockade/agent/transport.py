"""Sending the spool to the platform: batches over mutual TLS, exactly once by sequence.

The platform stores each (agent id, seq) once and answers with the highest sequence it
holds, so the sender simply resumes after the platform's acked seq: after a restart of
either side, a lost answer or a `409` gap. When the platform refuses the records themselves
(400, 413, 422), the sender halves the batch until the refused record stands alone, then
gives up on that one record: it logs the record's seq and the platform's reason, counts it
(`records_refused`), and sends the seq as `refused` so the platform counts it too and the
stream moves on. Any other refusal (401, 403, 415: who is sending, not what) stays on disk;
the sender reports it and waits `refused_retry_s` before trying again.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx
import msgspec
import zstandard

from stockade.agent.enroll import Credentials, response_detail
from stockade.agent.errors import TransportError
from stockade.agent.records import KIND_ALERT, KIND_EVENT
from stockade.agent.renewal import renew, renewal_due
from stockade.agent.spool import Spool
from stockade.model.wire import BATCH_CONTENT_TYPE, BATCH_ENCODING, Ack, Batch, Heartbeat

log = logging.getLogger(__name__)
BATCHES_PATH = "/api/v1/agent/batches"
ACK_PATH = "/api/v1/agent/ack"
RENEW_RETRY_S = 60.0
HEARTBEAT_PATH = "/api/v1/agent/heartbeat"
RECORD_REFUSALS = frozenset({400, 413, 422})  # the platform refused the records themselves
# reuse the TLS connection between batches a few seconds apart (httpx drops it after 5 s
# idle, so each such batch paid a new handshake on both sides); the platform keeps it 30 s
_KEEP_CONNECTION = httpx.Limits(keepalive_expiry=25.0)


class BatchRefused(TransportError):
    """The platform refused a batch for its content; retrying it at once will not help."""


class RawBatch(msgspec.Struct, kw_only=True):
    """`Batch` on the wire, carrying the spool's msgpack payloads without re-encoding them."""

    agent_id: str
    first_seq: int
    last_seq: int
    events: list[msgspec.Raw]
    alerts: list[msgspec.Raw]
    refused: list[int] = msgspec.field(default_factory=list)


def encode_batch(batch: Batch | RawBatch, compressor: zstandard.ZstdCompressor) -> bytes:
    """The request body: zstd(msgpack(Batch))."""
    return bytes(compressor.compress(msgspec.msgpack.encode(batch)))


class Transport:
    """One agent's connection to the platform's agent port."""

    def __init__(
        self,
        spool: Spool,
        server_url: str,
        credentials: Credentials,
        batch_records: int = 1000,
        timeout_s: float = 10,
    ) -> None:
        self._spool = spool
        self._url = server_url.rstrip("/")
        self.agent_id = credentials.agent_id
        self._credentials = credentials
        self._renew_at = renewal_due(credentials.cert_path)
        self._timeout_s = timeout_s
        self._client = httpx.Client(
            verify=credentials.ssl_context(), timeout=timeout_s, limits=_KEEP_CONNECTION
        )
        self._compressor = zstandard.ZstdCompressor(level=3)
        self._batch_records = self._full_batch_records = batch_records
        self.platform_acked: int | None = None  # unknown until the platform said
        self.refused: str | None = None  # why the current batch was refused, if it was
        self.sent_batches = 0
        self.records_refused = 0  # records the platform refused that were then skipped

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            response = self._client.request(method, self._url + path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as e:
            raise TransportError(f"platform unreachable at {self._url}: {e}") from e
        if response.status_code >= 500:
            raise TransportError(f"platform error {response.status_code} on {path}")
        return response

    def renew_if_due(self, now: float | None = None) -> bool:
        """Renew the client certificate once it is due; True when it was renewed now."""
        now = time.time() if now is None else now
        if now < self._renew_at:
            return False
        try:
            ends = renew(self._credentials, self._url, self._client)
        except TransportError as e:
            log.warning("%s; trying again in %.0f s", e, RENEW_RETRY_S)
            self._renew_at = now + RENEW_RETRY_S
            return False
        # never sooner than a retry: a certificate this short-lived must not renew in a loop
        self._renew_at = max(renewal_due(self._credentials.cert_path), now + RENEW_RETRY_S)
        # connections made with the old certificate close: new ones present the renewed one
        old, self._client = (
            self._client,
            httpx.Client(verify=self._credentials.ssl_context(), timeout=self._timeout_s),
        )
        old.close()
        log.info("client certificate renewed; valid until %s", ends.isoformat())
        return True

    def _take_ack(self, acked_seq: int) -> None:
        self.platform_acked = acked_seq
        self._spool.ack(min(acked_seq, self._spool.last_seq))

    def sync_ack(self) -> int:
        """Ask the platform what it holds and advance the spool's acked cursor."""
        response = self._call("GET", ACK_PATH)
        if response.status_code != 200:
            raise BatchRefused(f"ack refused ({response.status_code}): {response_detail(response)}")
        self._take_ack(msgspec.json.decode(response.content, type=Ack).acked_seq)
        return self.platform_acked or 0

    def send_once(self) -> int:
        """Send the next batch, if any; returns how many records the platform took."""
        if self.platform_acked is None:
            self.sync_ack()
        start = (self.platform_acked or 0) + 1
        records = self._spool.read_raw(start, limit=self._batch_records)
        if not records:
            return 0
        if records[0].seq != start:
            raise BatchRefused(
                f"platform holds up to seq {start - 1} but the spool starts at"
                f" {records[0].seq}: records {start}..{records[0].seq - 1} are gone"
            )
        batch = RawBatch(
            agent_id=self.agent_id,
            first_seq=records[0].seq,
            last_seq=records[-1].seq,
            events=[msgspec.Raw(r.payload) for r in records if r.kind == KIND_EVENT],
            alerts=[msgspec.Raw(r.payload) for r in records if r.kind == KIND_ALERT],
        )
        response = self._post_batch(batch)
        if response.status_code in RECORD_REFUSALS:
            if len(records) > 1:
                self._batch_records = max(len(records) // 2, 1)
                log.warning(
                    "batch %d..%d refused (%d): %s; retrying in batches of %d",
                    batch.first_seq,
                    batch.last_seq,
                    response.status_code,
                    response_detail(response),
                    self._batch_records,
                )
                return 0
            return self._give_up(records[0].seq, response)
        return self._answered(batch, response)

    def _post_batch(self, batch: RawBatch) -> httpx.Response:
        return self._call(
            "POST",
            BATCHES_PATH,
            content=encode_batch(batch, self._compressor),
            headers={"content-type": BATCH_CONTENT_TYPE, "content-encoding": BATCH_ENCODING},
        )

    def _answered(self, batch: RawBatch, response: httpx.Response) -> int:
        """Take the ack of an accepted batch, else raise BatchRefused with the reason."""
        before = self.platform_acked or 0
        if response.status_code in (200, 409):
            self._take_ack(msgspec.json.decode(response.content, type=Ack).acked_seq)
            self.refused = None
            self.sent_batches += 1
            return max((self.platform_acked or 0) - before, 0)
        self.refused = (
            f"batch {batch.first_seq}..{batch.last_seq} refused"
            f" ({response.status_code}): {response_detail(response)}"
        )
        raise BatchRefused(self.refused)

    def _give_up(self, seq: int, response: httpx.Response) -> int:
        """Skip one record the platform refused, saying so and counting it on both sides."""
        log.error(
            "record %d refused by the platform (%d): %s; skipped and counted",
            seq,
            response.status_code,
            response_detail(response),
        )
        skip = RawBatch(
            agent_id=self.agent_id, first_seq=seq, last_seq=seq, events=[], alerts=[], refused=[seq]
        )
        taken = self._answered(skip, self._post_batch(skip))
        self.records_refused += 1
        self._batch_records = self._full_batch_records
        return taken

    def heartbeat(self, beat: Heartbeat) -> None:
        """Report the agent's status."""
        response = self._call(
            "POST",
            HEARTBEAT_PATH,
            content=msgspec.json.encode(beat),
            headers={"content-type": "application/json"},
        )
        if response.status_code != 200:
            raise TransportError(
                f"heartbeat refused ({response.status_code}): {response_detail(response)}"
            )

    def run(
        self,
        stop: threading.Event,
        idle_s: float = 0.1,
        max_backoff_s: float = 5.0,
        refused_retry_s: float = 60.0,
    ) -> None:
        """Send until `stop` is set; back off while the platform is down."""
        backoff = 0.1
        while not stop.is_set():
            try:
                self.renew_if_due()
                if self.send_once() == 0:
                    stop.wait(idle_s)
                backoff = 0.1
            except BatchRefused as e:
                log.error("%s; kept on disk, next try in %.0f s", e, refused_retry_s)
                stop.wait(refused_retry_s)
            except (TransportError, msgspec.DecodeError) as e:
                log.warning("%s; retrying in %.1f s", e, backoff)
                self.platform_acked = None  # ask again: the platform may have restarted
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff_s)
            except Exception:  # a bug must not silently end sending for good
                log.exception("transport failed; retrying in %.0f s", max_backoff_s)
                self.platform_acked = None
                stop.wait(max_backoff_s)

    def drain(self, timeout_s: float) -> bool:
        """Send what is spooled for up to `timeout_s`; True when everything was acked."""
        deadline = threading.Event()
        timer = threading.Timer(timeout_s, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                try:
                    if self.send_once() == 0 and self.platform_acked == self._spool.last_seq:
                        return True
                except TransportError:
                    self.platform_acked = None
                    deadline.wait(0.2)
            return False
        finally:
            timer.cancel()
