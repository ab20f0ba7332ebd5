"""The metric recorder's bound: nothing lost within it while the sink fails, what does not
fit counted and reported to the sink once writes succeed, never a busy loop or a log line
per record while the sink is down."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime

import pytest

from llmcontrol.client.metrics import BatchingRecorder, MetricRecord, RejectedBatch
from tests.live import wait_for


class FlakySink:
    """Raises while `down`; counts every attempt; optionally takes loss reports."""

    def __init__(self, *, down: bool = True, report_failures: int = 0) -> None:
        self.down = down
        self.report_failures = report_failures
        self.attempts = 0
        self.written: list[MetricRecord] = []
        self.losses: list[tuple[int, datetime, datetime, int]] = []
        self._lock = threading.Lock()

    def write(self, records: Sequence[MetricRecord]) -> None:
        with self._lock:
            self.attempts += 1
            if self.down:
                raise ConnectionError("database unavailable")
            self.written.extend(records)

    def report_loss(self, dropped: int, first_at: datetime, last_at: datetime,
                    limit: int) -> None:
        with self._lock:
            if self.down or self.report_failures:
                self.report_failures = max(self.report_failures - 1, 0)
                raise ConnectionError("database unavailable")
            self.losses.append((dropped, first_at, last_at, limit))


class SinkWithoutReports:
    def __init__(self) -> None:
        self.written: list[MetricRecord] = []

    def write(self, records: Sequence[MetricRecord]) -> None:
        self.written.extend(records)


class PickySink(FlakySink):
    """Refuses any batch holding a record whose request id is in `poison` (as PostgreSQL
    refuses a NUL in a text column); `outage_after` write calls, it becomes unreachable."""

    def __init__(self, poison: set[str], outage_after: int | None = None) -> None:
        super().__init__(down=False)
        self.poison = poison
        self.outage_after = outage_after

    def write(self, records: Sequence[MetricRecord]) -> None:
        if self.outage_after is not None and self.attempts >= self.outage_after:
            self.down = True
            self.outage_after = None
        if not self.down and any(r.request_id in self.poison for r in records):
            self.attempts += 1
            raise RejectedBatch("text fields cannot contain NUL")
        super().write(records)


def record(number: int, *, routed_to: str = "cloud", success: bool = True) -> MetricRecord:
    return MetricRecord(request_id=f"r{number}", attempt=1, tier="haiku", provider="anthropic",
                        model="claude", routed_to=routed_to, bucket=1, stage=100,
                        success=success, latency_ms=1.0)


@pytest.fixture
def recorders() -> Iterator[list[BatchingRecorder]]:
    made: list[BatchingRecorder] = []
    yield made
    for recorder in made:
        recorder.sink.down = False  # type: ignore[attr-defined]
        recorder.close(timeout=5)


def recorder_for(recorders: list[BatchingRecorder], sink: object, **options: object
                 ) -> BatchingRecorder:
    recorder = BatchingRecorder(sink, flush_interval=0.01, **options)  # type: ignore[arg-type]
    recorders.append(recorder)
    return recorder


def messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_within_the_bound_a_failing_sink_loses_nothing(recorders: list) -> None:
    sink = FlakySink(down=True)
    recorder = recorder_for(recorders, sink, batch_size=7, max_buffer=50)
    for number in range(50):
        recorder.record(record(number))
    wait_for(lambda: sink.attempts >= 3, timeout=30)
    assert recorder.pending() == 50

    sink.down = False
    assert recorder.flush(timeout=30)
    assert [r.request_id for r in sink.written] == [f"r{n}" for n in range(50)]
    assert (recorder.written, recorder.dropped, sink.losses) == (50, 0, [])


def test_beyond_the_bound_new_records_are_dropped_counted_and_reported_once(
        recorders: list, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="llmcontrol.client.metrics")
    sink = FlakySink(down=True)
    recorder = recorder_for(recorders, sink, batch_size=5, max_buffer=20)
    records = [record(number) for number in range(32)]
    for item in records:
        recorder.record(item)
    assert (recorder.pending(), recorder.dropped, recorder.unreported_loss()) == (20, 12, 12)
    assert len(messages(caplog, "metric buffer full")) == 1  # one per episode, not per record

    sink.down = False
    assert recorder.flush(timeout=30)
    # The queue kept the oldest: the outage's start in one piece, the loss one interval.
    assert [r.request_id for r in sink.written] == [f"r{n}" for n in range(20)]
    assert sink.losses == [(12, records[20].created_at, records[31].created_at, 20)]
    assert recorder.unreported_loss() == 0
    assert len(messages(caplog, "12 metric record(s) dropped between")) == 1

    # A second overflow is a new episode: warned about and reported again.
    sink.down = True
    for number in range(100, 123):
        recorder.record(record(number))
    sink.down = False
    assert recorder.flush(timeout=30)
    assert [loss[0] for loss in sink.losses] == [12, 3]
    assert len(messages(caplog, "metric buffer full")) == 2


def test_a_loss_that_could_not_be_reported_stays_pending_and_is_retried(
        recorders: list) -> None:
    sink = FlakySink(down=True, report_failures=2)
    recorder = recorder_for(recorders, sink, batch_size=10, max_buffer=10)
    for number in range(15):
        recorder.record(record(number))
    sink.down = False
    wait_for(lambda: len(sink.written) == 10, timeout=30)
    assert recorder.flush(timeout=30)
    assert sink.report_failures == 0  # it failed twice, then went through
    assert [loss[0] for loss in sink.losses] == [5]
    assert recorder.unreported_loss() == 0


def test_while_the_sink_is_down_the_writer_neither_spins_nor_logs_per_attempt(
        recorders: list, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="llmcontrol.client.metrics")
    sink = FlakySink(down=True)
    recorder = recorder_for(recorders, sink, batch_size=1, max_buffer=10_000)
    # Every one of these would wake the writer (a batch's worth, and a local failure).
    for number in range(2000):
        recorder.record(record(number, routed_to="local", success=False))
    attempts_after_burst = sink.attempts
    # Not a write per record: retries back off (0.02 s, doubling to 2 s) whatever wakes them.
    assert attempts_after_burst <= 10
    wait_for(lambda: sink.attempts >= attempts_after_burst + 4, timeout=30)
    assert len(messages(caplog, "metric write failed")) == 1

    sink.down = False
    assert recorder.flush(timeout=60)
    assert len(sink.written) == 2000
    assert len(messages(caplog, "metric writes recovered")) == 1


def test_flush_while_the_sink_is_down_says_how_much_is_unwritten(
        recorders: list, caplog: pytest.LogCaptureFixture) -> None:
    sink = FlakySink(down=True)
    recorder = recorder_for(recorders, sink, max_buffer=3)
    for number in range(5):
        recorder.record(record(number))
    assert recorder.flush(timeout=0.5) is False
    assert messages(caplog, "metrics not written after") == [
        "metrics not written after 0.5 s: 3 record(s) still queued, 2 dropped record(s) "
        "not yet reported"]


def test_a_sink_without_loss_reports_gets_the_loss_in_the_log(
        recorders: list, caplog: pytest.LogCaptureFixture) -> None:
    sink = SinkWithoutReports()
    recorder = recorder_for(recorders, sink, max_buffer=0)
    recorder.record(record(1))
    assert recorder.flush(timeout=10)
    assert sink.written == []
    assert len(messages(caplog, "1 metric record(s) dropped between")) == 1


def test_records_the_sink_refuses_are_dropped_counted_and_the_rest_written(
        recorders: list, caplog: pytest.LogCaptureFixture) -> None:
    sink = PickySink(poison={"r3", "r7"})
    recorder = recorder_for(recorders, sink, batch_size=10)
    for number in range(25):
        recorder.record(record(number))
    assert recorder.flush(timeout=30)
    assert [r.request_id for r in sink.written] == [
        f"r{n}" for n in range(25) if n not in (3, 7)]
    assert [loss[0] for loss in sink.losses] == [2]
    assert recorder.dropped == 2
    assert len(messages(caplog, "2 metric record(s) refused by the sink")) == 1


def test_an_outage_while_a_refused_batch_is_split_writes_nothing_twice(
        recorders: list) -> None:
    # The whole batch is refused, its first half written, then the database goes away.
    sink = PickySink(poison={"r9"}, outage_after=2)
    recorder = recorder_for(recorders, sink, batch_size=10)
    for number in range(10):
        recorder.record(record(number))
    wait_for(lambda: sink.down and sink.attempts >= 4, timeout=30)
    assert [r.request_id for r in sink.written] == [f"r{n}" for n in range(5)]
    assert recorder.pending() == 5
    sink.down = False
    assert recorder.flush(timeout=30)
    assert [r.request_id for r in sink.written] == [f"r{n}" for n in range(9)]
    assert [loss[0] for loss in sink.losses] == [1]


@pytest.mark.django_db(transaction=True)
def test_the_database_sink_refuses_a_value_postgresql_cannot_store() -> None:
    from canary.models import RequestMetric
    from canary.recorder import DatabaseSink

    poisoned = MetricRecord(request_id="nul", attempt=1, tier="haiku", provider="anthropic",
                            model="claude", routed_to="cloud", bucket=1, stage=100,
                            success=True, latency_ms=1.0, purpose="a\x00b")
    with pytest.raises(RejectedBatch):
        DatabaseSink().write([record(1), poisoned])
    DatabaseSink().write([record(2)])  # the connection is usable again
    assert list(RequestMetric.objects.values_list("request_id", flat=True)) == ["r2"]


@pytest.mark.django_db
def test_the_database_sink_stores_a_loss_as_a_metric_loss_row() -> None:
    from canary.models import MetricLoss
    from canary.recorder import DatabaseSink

    first, last = record(1).created_at, record(2).created_at
    DatabaseSink(source="host:42").report_loss(7, first, last, 20)
    assert list(MetricLoss.objects.values_list(
        "source", "dropped", "first_dropped_at", "last_dropped_at", "buffer_limit")) == [
        ("host:42", 7, first, last, 20)]
