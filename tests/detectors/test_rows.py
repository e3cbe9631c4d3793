"""Column-wise per-key records: order, reuse, compaction and pickling."""

from __future__ import annotations

import pickle
import sys
from typing import ClassVar

from detectors.rows import Rows, row_id


class Records(Rows):
    __slots__ = ("count", "name", "ring", "total")
    COLUMNS: ClassVar[dict[str, tuple]] = {
        "total": ("d", 0.0),
        "count": ("i", 0),
        "ring": ("B", 0, 4),
        "name": (None, None),
    }


def test_keys_keep_the_order_a_dict_would_give_them():
    t, d = Records(), {}
    for i in range(300):
        t.add(f"k{i}")
        d[f"k{i}"] = i
    for i in range(0, 300, 3):
        t.remove(f"k{i}")
        del d[f"k{i}"]
    for i in [i for i in range(1, 300, 7) if i % 3]:
        t.move_to_end(f"k{i}")
        d[f"k{i}"] = d.pop(f"k{i}")
    for i in range(0, 60, 3):
        t.add(f"k{i}")
        d[f"k{i}"] = i
    assert list(t) == list(d) and len(t) == len(d)


def test_removed_rows_are_reused_at_their_defaults_and_let_go_of_objects():
    t = Records()
    a, b = t.add("a"), t.add("b")
    t.total[a], t.count[a], t.name[a] = 2.5, 7, "owner-a"
    t.ring[a * 4 + 2] = 9
    t.remove("a")
    assert t.name[a] is None  # nothing kept alive by a freed row
    assert t.add("c") == a and t.capacity == 2
    assert (t.total[a], t.count[a], t.ring[a * 4 : a * 4 + 4].tolist()) == (0.0, 0, [0, 0, 0, 0])
    assert "a" not in t and "c" in t and t.index["b"] == b


def test_churning_keys_do_not_grow_the_index_or_the_columns():
    t = Records()
    for i in range(10_000):
        t.add(f"k{i}")
    size = sys.getsizeof(t.index)
    for round_ in range(5):  # every key leaves and comes back, or moves to the end
        for i in range(10_000):
            if round_ % 2:
                t.move_to_end(f"k{i}")
            else:
                t.remove(f"k{i}")
                t.add(f"k{i}")
    # A plain dict would keep growing to three times its keys; the index stays within twice its size.
    assert sys.getsizeof(t.index) <= 2 * size and t.capacity == 10_000 and len(t.total) == 10_000


def test_row_numbers_are_shared_ints_also_after_unpickling():
    t = Records()
    for i in range(1_000):
        t.add(f"k{i}")
    t.total[t.index["k999"]] = 1.5
    copy = pickle.loads(pickle.dumps(t))
    assert list(copy) == list(t) and copy.total[copy.index["k999"]] == 1.5
    assert copy.index["k999"] is row_id(999) is t.index["k999"]
