import pytest

from bench.profile_summary import parse_collapsed, top_frames, top_inclusive

RUN = "thread (1): MainThread;run (/work/main/.venv/lib/python3.11/site-packages/faust/app.py:{})"
PROFILE = "\n".join([
    RUN.format(10) + ";loads (orjson.py:3) 30",
    RUN.format(12) + ";handle (stream/ingest.py:9) 50",
    RUN.format(10) + ";handle (stream/ingest.py:9);validate (schemas/parse.py:2) 20",
])


def test_line_numbers_and_site_packages_are_dropped_so_a_function_adds_up():
    stacks = parse_collapsed(PROFILE.splitlines())
    assert len(stacks) == 3
    assert stacks[0][0][1] == "run (faust/app.py)"
    run = next(r for r in top_inclusive(stacks, top=10) if r.frame == "run (faust/app.py)")
    assert run.total_share == pytest.approx(1.0)
    assert run.self_share == 0


def test_self_and_total_shares():
    rows = {r.frame: r for r in top_frames(parse_collapsed(PROFILE.splitlines()), top=10)}
    assert rows["handle (stream/ingest.py)"].self_share == pytest.approx(0.5)
    assert rows["handle (stream/ingest.py)"].total_share == pytest.approx(0.7)
    assert rows["validate (schemas/parse.py)"].total_share == pytest.approx(0.2)


def test_focus_keeps_only_stacks_through_the_frame():
    rows = {r.frame: r for r in top_frames(parse_collapsed(PROFILE.splitlines()), top=10, focus="ingest")}
    assert "loads (orjson.py)" not in rows
    assert rows["validate (schemas/parse.py)"].self_share == pytest.approx(20 / 70)


def test_a_recursive_frame_counts_once_per_sample():
    stacks = parse_collapsed(["f (a.py:1);f (a.py:2);g (b.py:3) 4"])
    rows = {r.frame: r for r in top_frames(stacks)}
    assert rows["f (a.py)"].total_share == pytest.approx(1.0)
