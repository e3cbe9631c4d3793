"""Where the time goes: top frames of a py-spy ``--format raw`` profile (collapsed stacks).

``python -m bench.profile_summary profile.txt --top 25`` prints, as Markdown, the frames with the
largest share of samples: ``self`` (the frame was on top of the stack: time spent in it) and ``total``
(the frame was anywhere on the stack: time spent in it and what it called). Each line of the input is
``frame;frame;...;frame count``, outermost first; a frame reads ``function (file:line)``. Frames are
grouped by function and file, not line, so a function's samples add up. ``--focus TEXT`` keeps only
the stacks that pass through a frame containing TEXT (e.g. the worker's agent) and gives shares of those.

Examples
--------
>>> stacks = parse_collapsed([
...     "run (app.py:1);handle (ingest.py:9);loads (json.py:3) 6",
...     "run (app.py:1);handle (ingest.py:10) 2",
...     "run (app.py:1);idle (loop.py:5) 2",
... ])
>>> rows = top_frames(stacks, top=3)
>>> [(r.frame, round(r.self_share, 2), round(r.total_share, 2)) for r in rows]
[('loads (json.py)', 0.6, 0.6), ('handle (ingest.py)', 0.2, 0.8), ('idle (loop.py)', 0.2, 0.2)]
>>> [r.frame for r in top_frames(stacks, top=2, focus="ingest")]
['loads (json.py)', 'handle (ingest.py)']

"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

Stacks = list[tuple[list[str], int]]

__all__ = ["FrameShare", "parse_collapsed", "top_frames"]

_LINE_NUMBER = re.compile(r":\d+\)$")


@dataclass(frozen=True)
class FrameShare:
    """A function's share of the samples: on top of the stack (self) and anywhere on it (total)."""

    frame: str
    self_share: float
    total_share: float


def _function(frame: str) -> str:
    # "handle (stream/ingest.py:93)" -> "handle (stream/ingest.py)"; site-packages paths shortened.
    frame = _LINE_NUMBER.sub(")", frame.strip())
    return frame.replace("/work/main/.venv/lib/python3.11/site-packages/", "")


def parse_collapsed(lines: Iterable[str]) -> Stacks:
    """``(frames outermost first, samples)`` of each collapsed-stack line; blank lines skipped."""
    stacks = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        stacks.append(([_function(f) for f in stack.split(";")], int(count)))
    return stacks


def top_frames(stacks: Stacks, top: int = 20, focus: str | None = None) -> list[FrameShare]:
    """The ``top`` functions by self share, then total share, of the (focused) samples."""
    if focus is not None:
        stacks = [(frames, n) for frames, n in stacks if any(focus in f for f in frames)]
    samples = sum(n for _, n in stacks) or 1
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for frames, n in stacks:
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    ranked = sorted(anywhere, key=lambda f: (-own[f], -anywhere[f], f))[:top]
    return [FrameShare(f, own[f] / samples, anywhere[f] / samples) for f in ranked]


def top_inclusive(stacks: Stacks, top: int = 20, focus: str | None = None) -> list[FrameShare]:
    """The ``top`` functions by total (inclusive) share of the (focused) samples."""
    rows = top_frames(stacks, top=10**9, focus=focus)
    return sorted(rows, key=lambda r: (-r.total_share, -r.self_share, r.frame))[:top]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy record --format raw output")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--focus", help="only stacks through a frame containing this text")
    args = parser.parse_args(argv)
    stacks = parse_collapsed(args.profile.read_text().splitlines())
    samples = sum(n for frames, n in stacks if args.focus is None or any(args.focus in f for f in frames))
    print(f"{samples:,} samples{f' through {args.focus!r}' if args.focus else ''}.\n")
    tables = (("By self time", top_frames(stacks, args.top, args.focus)),
              ("By total time (inclusive)", top_inclusive(stacks, args.top, args.focus)))  # fmt: skip
    for title, rows in tables:
        print(f"{title}:\n\n| function | self | total |\n|---|---|---|")
        for row in rows:
            print(f"| `{row.frame}` | {row.self_share:.1%} | {row.total_share:.1%} |")
        print()


if __name__ == "__main__":
    main()
