"""The detection stage: same alerts as replay, second copies skipped, restore without relearning."""

from __future__ import annotations

import pickle

import pytest

from detectors.engine import DetectionEngine
from sim.replay import replay
from stream.detection import DetectionStage
from stream.forward import ForwardedRecord, forward_headers, marker_headers, pack_batch
from tests.stream.worker_support import alert_signature, simulated_lines

SOURCES = [("events", p) for p in range(3)]


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return simulated_lines(days=8, accounts=60)


@pytest.fixture(scope="module")
def forwarded(lines) -> list[tuple[list, bytes | None]]:
    """The simulated stream as the detection topic holds it: 3 partitions, a few records twice."""
    by_partition: dict[int, list[bytes]] = {0: [], 1: [], 2: []}
    for i, line in enumerate(lines):
        by_partition[i % 3].append(line)
    records: list = []
    cursors = dict.fromkeys(by_partition, 0)
    step = 0
    while any(cursors[p] < len(by_partition[p]) for p in by_partition):
        p = [0, 0, 1, 2, 2, 2, 1][step % 7]  # partitions read at different paces
        step += 1
        for _ in range(40):
            offset = cursors[p]
            if offset == len(by_partition[p]):
                records.append((marker_headers("events", p, offset), None))
                break
            last = offset + 1 == len(by_partition[p])
            records.append((forward_headers("events", p, offset, caught_up=last), by_partition[p][offset]))
            if offset % 997 == 0:  # forwarded twice (a restart of the ingest stage)
                records.append(records[-1])
            cursors[p] += 1
    return records


def _run(stage: DetectionStage, records: list, start: int = 0, stop: int | None = None) -> list:
    alerts = []
    for offset in range(start, len(records) if stop is None else stop):
        headers, value = records[offset]
        alerts.extend(stage.apply(offset, headers, value))
    return alerts


def _stage() -> DetectionStage:
    return DetectionStage(DetectionEngine, sources=SOURCES, reorder_horizon=120)


def test_the_stage_emits_the_alerts_of_replay_and_skips_second_copies(forwarded, lines):
    stage = _stage()
    stage.restore(None)
    alerts = _run(stage, forwarded)
    events = [value for _, value in forwarded if value is not None]
    assert stage.duplicates == len(events) - len(lines) > 0
    expected = replay(lines, reorder_horizon=120, finish=False).alerts
    assert [alert_signature(a) for a in alerts] == [alert_signature(a) for a in expected]
    assert alerts


def _packed(forwarded: list) -> list:
    """The same stream as the batch ingest stage writes it: each run of one partition's events in one
    record, and every 5th batch written again overlapping the one before (an aborted transaction's copy
    read uncommitted, then the batch again)."""
    records: list = []
    run: list = []  # (source, offset, caught_up, value) of consecutive events of one partition
    last_pack = None

    def flush() -> None:
        nonlocal last_pack
        if not run:
            return
        (topic, partition), caught_up = run[0][0], run[-1][2]
        value, headers = pack_batch(topic, partition, [(o, v) for _s, o, _c, v in run], caught_up=caught_up)
        if last_pack is not None and len(records) % 5 == 0 and last_pack[0] == run[0][0]:
            records.append(last_pack[1])  # the previous batch of this partition, once more
        records.append((headers, value))
        last_pack = (run[0][0], (headers, value))
        run.clear()

    for headers, value in forwarded:
        record = ForwardedRecord.from_headers(headers)
        if record.marker or (run and run[0][0] != record.source):
            flush()
        if record.marker:
            records.append((headers, value))
        elif not run or record.offset > run[-1][1]:  # the fixture's own second copies are left out here
            run.append((record.source, record.offset, record.caught_up, value))
    flush()
    return records


def test_packed_batches_give_the_alerts_of_replay_and_skip_overlapping_copies(forwarded, lines):
    stage = _stage()
    stage.restore(None)
    packed = _packed(forwarded)
    assert len(packed) < len(forwarded) / 10  # batches, not records
    alerts = _run(stage, packed)
    assert stage.duplicates > 0
    assert stage.state.applied + len(stage.state.merge) == len(lines)
    expected = replay(lines, reorder_horizon=120, finish=False).alerts
    assert [alert_signature(a) for a in alerts] == [alert_signature(a) for a in expected]


def test_a_restored_stage_publishes_only_what_was_not_published_before_the_crash(forwarded):
    whole = _stage()
    whole.restore(None)
    reference, first_alert = [], None
    for offset in range(len(forwarded)):
        reference += _run(whole, forwarded, offset, offset + 1)
        first_alert = offset if first_alert is None and reference else first_alert
    assert first_alert is not None
    snapshot_at = first_alert - 50

    crashed = _stage()
    crashed.restore(None)
    before = _run(crashed, forwarded, 0, snapshot_at)
    with crashed.picklable() as state:
        saved = pickle.dumps(state)
    published_then_crashed = _run(crashed, forwarded, snapshot_at, first_alert + 300)
    published = [a.alert_id for a in published_then_crashed[: len(published_then_crashed) // 2]]
    assert published  # some alerts went out after the snapshot, the rest were lost in the crash

    restored = _stage()
    restored.restore(pickle.loads(saved), published)
    after = _run(restored, forwarded, restored.state.next_offset)
    assert restored.skipped_alerts == len(published)
    republished = before + published_then_crashed[: len(published)] + after
    assert [alert_signature(a) for a in republished] == [alert_signature(a) for a in reference]
    assert restored.state.applied == whole.state.applied



def test_open_incidents_survive_a_restore_and_skipped_alerts_are_reported(forwarded):
    from stream.alerts import OpenAlerts

    reference = _stage()
    reference.restore(None)
    emitted, open_at = [], None
    for offset in range(len(forwarded)):
        emitted += _run(reference, forwarded, offset, offset + 1)
        book = OpenAlerts()
        book.extend(emitted)
        if len(book) and open_at is None:
            open_at = offset + 1  # the first moment some incident is open
    assert open_at is not None

    first = _stage()
    first.restore(None)
    published = _run(first, forwarded, 0, open_at)
    expected_open = {a.dedup_key for a in first.open_book().open()}
    assert expected_open  # an incident is open when the snapshot is taken
    with first.picklable() as state:
        saved = pickle.dumps(state)

    restored = _stage()
    restored.restore(pickle.loads(saved), [a.alert_id for a in published])
    assert {a.dedup_key for a in restored.open_book().open()} == expected_open

    # alerts published after an older snapshot come back through last_skipped, not as new publications
    older = _stage()
    older.restore(None)
    _run(older, forwarded, 0, max(open_at - 400, 0))
    with older.picklable() as state:
        early = pickle.dumps(state)
    replaying = _stage()
    replaying.restore(pickle.loads(early), [a.alert_id for a in published])
    skipped, already = [], {a.alert_id for a in published}
    for offset in range(replaying.state.next_offset, open_at):
        fresh = _run(replaying, forwarded, offset, offset + 1)
        assert not already & {a.alert_id for a in fresh}  # never published twice
        skipped += replaying.last_skipped
    assert {a.alert_id for a in skipped} >= {a.alert_id for a in published if a.dedup_key in expected_open}
