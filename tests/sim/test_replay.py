from __future__ import annotations

import orjson

from schemas.alerts import Alert
from sim.replay import read_lines, replay, write_alerts


def _without_wall_time(path) -> list[dict]:
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    for row in rows:
        row.pop("wall_time")
    return rows


def test_same_input_gives_the_same_alerts(small_sim, tmp_path):
    small_sim.write(tmp_path / "stream.jsonl")
    first = replay(read_lines(tmp_path / "stream.jsonl"))
    second = replay(read_lines(tmp_path / "stream.jsonl"))
    write_alerts(first.alerts, tmp_path / "a.jsonl")
    write_alerts(second.alerts, tmp_path / "b.jsonl")
    assert first.alerts, "a labelled stream with floods and churners gives some alerts"
    assert _without_wall_time(tmp_path / "a.jsonl") == _without_wall_time(tmp_path / "b.jsonl")
    lines = (tmp_path / "a.jsonl").read_bytes().splitlines()
    assert [Alert.from_json(line) for line in lines] == first.alerts


def test_counts_events_rejections_and_duplicates(small_sim):
    bad = [b"not json", b'{"type":"usage","account_id":"a","count":-1,"time":1772409600}', b'{"type":"x"}']
    result = replay([*small_sim.lines[:2000], *bad, *small_sim.lines[2000:]])
    assert result.lines == len(small_sim.lines) + 3
    assert sum(result.events.values()) == len(small_sim.lines)
    assert dict(result.rejections) == {"not_json": 1, "negative_count": 1, "unknown_type": 1}
    assert result.stats["duplicates"] == small_sim.labels.stream["duplicate_ticket"]
    assert "rejected: negative_count 1, not_json 1, unknown_type 1" in result.summary()


def test_progress_callback_sees_every_line(small_sim):
    seen = []
    replay(small_sim.lines[:25_000], advance=seen.append, every=5_000)
    assert sum(seen) == min(25_000, len(small_sim.lines))
