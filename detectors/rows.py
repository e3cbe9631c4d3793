"""Per-key records stored column-wise: what most per-account state is kept as.

A dict of small ``__slots__`` objects costs, per key, the object (32 bytes plus 8 a field) and a
24-byte float object for every float field it holds, on top of the dict's own entry. :class:`Rows`
keeps one typed :class:`array.array` per field instead (8 bytes a float, one byte a flag) and a dict
from key to row number, so an account's record costs its fields and one dict entry. The dict keeps
the keys' insertion order, which is the order the detectors iterate in (float sums over accounts
depend on it). Rows of removed keys are reused, so the columns stay as long as the largest number of
keys held at once: memory is flat while the same keys come back.

Values read back are the values stored: a double column returns the same float, an integer column
the same int, so arithmetic on them is unchanged. Row numbers are shared ``int`` objects
(:func:`row_id`), so the tables of several detectors do not each hold their own.

Examples
--------
>>> class Levels(Rows):
...     __slots__ = ("days", "level", "ring")
...     COLUMNS = {"level": ("d", 0.0), "days": ("q", 0), "ring": ("B", 0, 3)}
>>> t = Levels()
>>> r = t.add("acme")
>>> t.level[r] += 2.5
>>> t.ring[r * 3 + 1] = 7
>>> t.level[t.index["acme"]], t.ring.tolist(), len(t), "acme" in t
(2.5, [0, 7, 0], 1, True)
>>> t.remove("acme") == r and t.add("beta") == r  # the freed row is reused, at its defaults
True
>>> t.level[r], t.ring.tolist(), list(t)
(0.0, [0, 0, 0], ['beta'])
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Hashable, Iterator
from typing import Any, ClassVar

__all__ = ["Rows", "intern_text", "row_id"]

_ROW_IDS: list[int] = []


def row_id(n: int) -> int:
    """The one shared ``int`` object for row number ``n`` (ints above 256 are not cached by Python).

    >>> row_id(1000) is row_id(1000)
    True
    """
    ids = _ROW_IDS
    while len(ids) <= n:
        ids.append(len(ids))
    return ids[n]


def intern_text(text: Any) -> Any:
    """One shared string per distinct value (a tier, an owner): every event parses its own copy.

    Anything but a ``str`` (``None``) is returned as it is.

    >>> a, b = "".join(["ent", "erprise"]), "".join(["enter", "prise"])
    >>> a is b, intern_text(a) is intern_text(b), intern_text(None)
    (False, True, None)
    """
    return sys.intern(text) if type(text) is str else text


class Rows:
    """One row of typed columns per key, keys in insertion order.

    Subclasses name their columns in ``__slots__`` and describe them in ``COLUMNS`` (or pass
    ``columns``, when they depend on parameters): name -> ``(typecode, default)`` or
    ``(typecode, default, width)``, where ``typecode`` is an :mod:`array` typecode or ``None`` for a
    column of Python objects (a list), and ``width`` the number of cells per row (row ``r`` owns cells
    ``r * width`` to ``r * width + width - 1``).
    """

    __slots__ = ("_columns", "_free", "_holes", "_size", "index")

    COLUMNS: ClassVar[dict[str, tuple]] = {}

    def __init__(self, columns: dict[str, tuple] | None = None) -> None:
        self._columns = columns if columns is not None else self.COLUMNS
        self.index: dict[Hashable, int] = {}  # key -> row, in insertion order
        self._free: list[int] = []  # rows of removed keys, reused last freed first
        self._holes = 0  # keys removed from ``index`` since it was last rebuilt
        self._size = sys.getsizeof(self.index)  # bytes of ``index`` when it last grew or was rebuilt
        for name, (code, *_) in self._columns.items():
            setattr(self, name, array(code) if code is not None else [])

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, key: object) -> bool:
        return key in self.index

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.index)

    @property
    def capacity(self) -> int:
        """Rows allocated (held keys plus free rows)."""
        return len(self.index) + len(self._free)

    def add(self, key: Hashable) -> int:
        """A row for ``key`` (not held yet), its fields at their defaults; the key goes last in the order."""
        if self._free:
            row = self._free.pop()
            self._reset(row)
        else:
            row = row_id(self.capacity)
            for name, (_code, default, *width) in self._columns.items():
                column = getattr(self, name)
                if width:
                    column.extend([default] * width[0])
                else:
                    column.append(default)
        self.index[key] = row
        self._inserted()
        return row

    def remove(self, key: Hashable) -> int | None:
        """Drop ``key``; its row (returned, or None if it was not held) is reused by the next :meth:`add`."""
        row = self.index.pop(key, None)
        if row is not None:
            self._reset(row, objects_only=True)  # let go of what the row referenced
            self._free.append(row)
            self._holes += 1
            if self._holes > len(self.index) + 64:  # most keys gone: shrink
                self._rebuild()
        return row

    def move_to_end(self, key: Hashable) -> None:
        """Put ``key`` last in the iteration order, as deleting and re-inserting it in a dict would."""
        self.index[key] = self.index.pop(key)
        self._holes += 1
        self._inserted()

    def _inserted(self) -> None:
        # A dict keeps a hole for every key deleted until it next grows, and then grows to three times
        # its keys: with keys coming and going it would stay that large. Rebuilt when it grows after
        # many deletions (an eighth of its keys: the copy is paid for by them), it is sized for its keys
        # again (a dict copy: 1.5 times).
        size = sys.getsizeof(self.index)
        if size > self._size:
            if self._holes > len(self.index) // 8:
                self._rebuild()
            else:
                self._size = size

    def _rebuild(self) -> None:
        # In place (callers may hold ``index``): a copy is sized for its keys, and updating the cleared
        # dict from it clones that size.
        compact = dict(self.index)
        self.index.clear()
        self.index.update(compact)
        self._holes = 0
        self._size = sys.getsizeof(self.index)

    def _reset(self, row: int, objects_only: bool = False) -> None:
        for name, (code, default, *width) in self._columns.items():
            if objects_only and code is not None:
                continue
            column = getattr(self, name)
            if width:
                n = width[0]
                cells = [default] * n
                column[row * n : row * n + n] = array(column.typecode, cells) if code is not None else cells
            else:
                column[row] = default

    def __getstate__(self) -> dict[str, Any]:
        names = [n for cls in type(self).__mro__ for n in getattr(cls, "__slots__", ())]
        return {name: getattr(self, name) for name in names}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        # Unpickled ints are new objects: share the row numbers again.
        self.index = {key: row_id(row) for key, row in self.index.items()}
        self._free = [row_id(row) for row in self._free]
        self._holes, self._size = 0, sys.getsizeof(self.index)
