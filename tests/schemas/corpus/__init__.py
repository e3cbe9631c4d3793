"""A corpus of nasty input records, each with the outcome the documented rules of ``schemas.parse`` give.

Every record belongs to one class of hostile or odd input (the issue's list) and expects either an
event of a given type or a rejection with a given reason and field. ``tests/schemas/test_nasty.py``
runs it through :func:`schemas.parse.parse_event`; ``tests/stream/test_security_kafka.py`` through a
real worker.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass

T = 1772460300
MAX_BYTES = 65536


@dataclass(frozen=True)
class Nasty:
    """One record: its class, its bytes, and either the event type or the (reason, field) expected."""

    kind: str
    raw: bytes
    accepted_as: str | None = None
    reason: str | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        assert (self.accepted_as is None) != (self.reason is None), "expect an event or a rejection"


def _dumps(value: object) -> bytes:
    return json.dumps(value).encode()


def _ticket(**fields: object) -> dict:
    return {
        "type": "ticket",
        "ticket_id": "T-1",
        "account_id": "acct-nasty",
        "feature": "checkout",
        "time": T,
        **fields,
    }


def _usage(**fields: object) -> dict:
    return {"type": "usage", "account_id": "acct-nasty", "count": 2, "time": T, **fields}


def _account(**fields: object) -> dict:
    return {
        "type": "account",
        "account_id": "acct-nasty",
        "mrr": 990.0,
        "seats": 40,
        "tier": "business",
        "time": T,
        **fields,
    }


def _release(**fields: object) -> dict:
    return {"type": "release", "version": "9.9.9", "features": ["checkout"], "time": T, **fields}


def _ok(kind: str, raw: bytes, event_type: str) -> Nasty:
    return Nasty(kind, raw, accepted_as=event_type)


def _no(kind: str, raw: bytes, reason: str, field: str | None = None) -> Nasty:
    return Nasty(kind, raw, reason=reason, field=field)


def _with_extra(raw_value: bytes, base: dict | None = None) -> bytes:
    """A valid usage event with an unknown field ``x`` holding ``raw_value`` verbatim."""
    return _dumps(base or _usage())[:-1] + b', "x": ' + raw_value + b"}"


def _invalid_utf8(rng: random.Random) -> list[Nasty]:
    kind = "invalid_utf8"
    fixed = [b"\xff", b"\x80", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"caf\xe9"]
    out = [
        _no(kind, _dumps(_ticket())[:-1] + b', "subject": "' + bad + b'"}', "invalid_utf8") for bad in fixed
    ]
    out.append(_no(kind, _dumps(_ticket()).decode().encode("utf-16"), "invalid_utf8"))
    out.append(_no(kind, _dumps(_ticket()).decode().encode("utf-32"), "invalid_utf8"))
    out.append(_no(kind, b'{"type": "usage", "account_id": "\xff\xfe", "time": 1772460300}', "invalid_utf8"))
    for _ in range(20):
        blob = bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randrange(1, 40)))
        if _decodes(blob):
            continue
        out.append(_no(kind, _dumps(_usage())[:-1] + b', "note": "' + blob + b'"}', "invalid_utf8"))
    return out


def _decodes(blob: bytes) -> bool:
    try:
        blob.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _deep() -> list[Nasty]:
    kind = "deep_nesting"
    out = []
    for depth in (205, 1_000, 10_000, 100_000):
        for raw in (
            b"[" * depth + b"]" * depth,
            b'{"a":' * depth + b"1" + b"}" * depth,
            _with_extra(b"[" * depth + b"]" * depth),
        ):
            # Beyond the size limit the bytes are refused unread; test_nasty also parses them unlimited.
            out.append(_no(kind, raw, "too_large" if len(raw) > MAX_BYTES else "not_json"))
    for depth in (10, 100, 190):  # the event object is one level, so 190 more stay below the limit
        out.append(_ok(kind, _with_extra(b"[" * depth + b"]" * depth), "usage"))
        out.append(_ok(kind, _with_extra(b'{"a":' * depth + b"1" + b"}" * depth), "usage"))
    return out


def _huge() -> list[Nasty]:
    kind = "huge"
    event = _dumps(_usage())
    out = [
        _no(kind, b" " * (MAX_BYTES + 1), "too_large"),
        _no(kind, _dumps(_ticket(subject="x" * MAX_BYTES)), "too_large"),
        _no(kind, _dumps({**_usage(), **{f"k{i}": i for i in range(8000)}}), "too_large"),
        _no(kind, b"[" * (MAX_BYTES + 10), "too_large"),
        _no(kind, b"\xff" * (MAX_BYTES + 10), "too_large"),  # the limit comes before any decoding
        _no(kind, event + b" " * (MAX_BYTES + 1 - len(event)), "too_large"),
        _ok(kind, event + b" " * (MAX_BYTES - len(event)), "usage"),  # exactly at the limit
        _ok(kind, _dumps(_ticket(subject="x" * 50_000)), "ticket"),  # free text is cut, not refused
        _ok(kind, _dumps({**_usage(), **{f"k{i}": i for i in range(4000)}}), "usage"),
    ]
    return out


def _numbers() -> list[Nasty]:
    kind = "numbers"
    return [
        _ok(kind, _dumps(_usage(count=2**53 - 1)), "usage"),
        _no(kind, _dumps(_usage(count=2**53)), "invalid_field", "count"),
        _no(kind, _dumps(_usage(count=2**63)), "invalid_field", "count"),
        _no(kind, _dumps(_usage(count=2**64 + 1)), "invalid_field", "count"),
        _no(kind, _dumps(_usage(count=-(2**63))), "negative_count", "count"),
        _no(kind, _dumps(_usage(count=1.5)), "invalid_field", "count"),
        _ok(kind, _dumps(_usage(count=5.0)), "usage"),
        _no(kind, _dumps(_usage(count=True)), "invalid_field", "count"),
        _no(kind, _dumps(_usage(count="5")), "invalid_field", "count"),
        _no(
            kind,
            b'{"type": "usage", "account_id": "a", "count": 1e400, "time": 1772460300}',
            "invalid_field",
            "count",
        ),
        _ok(kind, b'{"type": "usage", "account_id": "a", "count": 1e-400, "time": 1772460300}', "usage"),
        _no(kind, _dumps(_account(seats=-1)), "invalid_field", "seats"),
        _no(kind, _dumps(_account(seats=2**70)), "invalid_field", "seats"),
        _no(kind, _dumps(_account(mrr=-0.01)), "invalid_field", "mrr"),
        _ok(kind, _dumps(_account(mrr=1e308)), "account"),
        _no(
            kind,
            b'{"type": "account", "account_id": "a", "mrr": 1e999, "seats": 1, "tier": "t", '
            b'"time": 1772460300}',
            "invalid_field",
            "mrr",
        ),
        _ok(kind, _with_extra(b"9" * 4300), "usage"),
        _no(kind, _with_extra(b"9" * 4400), "not_json"),
        _no(kind, _with_extra(b"-" + b"9" * 10_000), "not_json"),
        _no(kind, _dumps(_usage(count="9" * 5000)), "invalid_field", "count"),
        _no(kind, _dumps(_usage(time=2**64)), "invalid_field", "time"),
        _no(kind, _dumps(_usage(schema_version=2**64)), "unsupported_version", "schema_version"),
    ]


def _nan_inf() -> list[Nasty]:
    kind = "nan_infinity"
    out = []
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        out.append(
            _no(
                kind,
                b'{"type": "usage", "account_id": "a", "time": ' + literal + b"}",
                "invalid_field",
                "time",
            )
        )
        out.append(
            _no(
                kind,
                b'{"type": "usage", "account_id": "a", "time": 1772460300, "count": ' + literal + b"}",
                "invalid_field",
                "count",
            )
        )
        out.append(
            _no(
                kind,
                b'{"type": "account", "account_id": "a", "mrr": '
                + literal
                + b', "seats": 1, "tier": "t", "time": 1772460300}',
                "invalid_field",
                "mrr",
            )
        )
        out.append(
            _no(
                kind,
                b'{"type": "account", "account_id": "a", "mrr": 1, "seats": '
                + literal
                + b', "tier": "t", "time": 1772460300}',
                "invalid_field",
                "seats",
            )
        )
        out.append(_ok(kind, _with_extra(literal), "usage"))
        out.append(_ok(kind, _with_extra(b"[" + literal + b", 1]"), "usage"))
    out.append(_no(kind, b'{"type": "usage", "account_id": "a", "time": nan}', "not_json"))
    out.append(_no(kind, b'{"type": "usage", "account_id": "a", "time": inf}', "not_json"))
    return out


def _times() -> list[Nasty]:
    kind = "far_times"
    bad = [
        "9999-12-31T23:59:59Z",
        "2101-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2100-12-31T23:00:00-02:00",
        "2026-02-30T00:00:00Z",
        "2026-03-02T24:00:00Z",
        "2026-03-02T14:05:00+24:00",
        "10000-01-01T00:00:00Z",
        "2026-03-02",
        "now",
        "",
        "x" * 60_000,
        "2026-03-02T14:05:00Z" + " " * 10,
        "+002026-03-02T14:05:00Z",
    ]
    out = [_no(kind, _dumps(_usage(time=value)), "invalid_field", "time") for value in bad]
    for number in (0, -1, -1e18, 946684799, 4133980800, 1e11 - 1, 4133980800000, 1.7e15, 1.7e18, 2**63):
        out.append(_no(kind, _dumps(_usage(time=number)), "invalid_field", "time"))
    out.append(_no(kind, _dumps(_usage(time="2026-03-02T14:05:00")), "naive_time", "time"))
    good = [
        "2000-01-01T00:00:00Z",
        "2100-12-31T23:59:59Z",
        "2026-03-02T14:05:00." + "9" * 20_000 + "Z",
        "2026-03-02t14:05z",
        "2026-03-02T14:05:00-23:59",
    ]
    out += [_ok(kind, _dumps(_usage(time=value)), "usage") for value in good]
    out += [
        _ok(kind, _dumps(_usage(time=number)), "usage") for number in (946684800, 4133980799, 946684800000)
    ]
    return out


def _unknown_types() -> list[Nasty]:
    kind = "unknown_type"
    tags = [
        "refund",
        "",
        "TICKET",
        " ticket",
        "ticket\u0000",
        "t" * 10_240,
        None,
        5,
        True,
        ["ticket"],
        {"t": 1},
    ]
    out = [_no(kind, _dumps({**_ticket(), "type": tag}), "unknown_type", "type") for tag in tags]
    out.append(_no(kind, _dumps({k: v for k, v in _ticket().items() if k != "type"}), "unknown_type", "type"))
    out.append(_no(kind, b"{}", "unknown_type", "type"))
    return out


_ID_FIELDS = [
    (_ticket, "ticket_id"),
    (_ticket, "account_id"),
    (_usage, "account_id"),
    (_account, "account_id"),
    (_account, "owner"),
    (_release, "version"),
]
_LABEL_FIELDS = [(_ticket, "feature"), (_ticket, "channel"), (_usage, "feature"), (_account, "tier")]


def _empty_ids() -> list[Nasty]:
    kind = "empty_ids"
    out = []
    for make, name in _ID_FIELDS + _LABEL_FIELDS:
        for blank in ("", " ", "\t\n", "\u3000"):
            out.append(_no(kind, _dumps(make(**{name: blank})), "invalid_field", name))
    out.append(_no(kind, _dumps(_release(features=[""])), "invalid_field", "features.0"))
    out.append(_no(kind, _dumps(_release(features=[])), "invalid_field", "features"))
    out.append(_ok(kind, _dumps(_usage(account_id="\u200b")), "usage"))  # not whitespace to Python: an id
    return out


def _long_ids() -> list[Nasty]:
    kind = "long_ids"
    out = []
    for make, name in _ID_FIELDS:
        out.append(_no(kind, _dumps(make(**{name: "i" * 10_240})), "invalid_field", name))
        out.append(_no(kind, _dumps(make(**{name: "i" * 257})), "invalid_field", name))
        out.append(_ok(kind, _dumps(make(**{name: "\u00e9" * 256})), make()["type"]))  # characters, not bytes
    for make, name in _LABEL_FIELDS:
        out.append(_no(kind, _dumps(make(**{name: "f" * 10_240})), "invalid_field", name))
        out.append(_ok(kind, _dumps(make(**{name: "f" * 64})), make()["type"]))
    out.append(
        _no(kind, _dumps(_release(features=[f"f{i}" for i in range(257)])), "invalid_field", "features")
    )
    out.append(_ok(kind, _dumps(_release(description="d" * 20_000)), "release"))
    return out


def _duplicate_keys() -> list[Nasty]:
    kind = "duplicate_keys"
    usage = b'{"type": "usage", "time": 1772460300, '
    return [
        _ok(kind, usage + b'"account_id": "first", "account_id": "last"}', "usage"),
        _no(kind, usage + b'"account_id": "ok", "account_id": ""}', "invalid_field", "account_id"),
        _ok(kind, usage + b'"account_id": "", "account_id": "ok"}', "usage"),
        _no(
            kind,
            b'{"type": "usage", "type": "refund", "account_id": "a", "time": 1772460300}',
            "unknown_type",
            "type",
        ),
        _ok(kind, b'{"type": "refund", "type": "usage", "account_id": "a", "time": 1772460300}', "usage"),
        _no(
            kind,
            b'{"type": "usage", "type": "ticket", "account_id": "a", "time": 1772460300}',
            "missing_field",
            "ticket_id",
        ),
        _ok(kind, usage + b'"account_id": "a", "count": -1, "count": 3}', "usage"),
        _no(kind, usage + b'"account_id": "a", "count": 3, "count": -1}', "negative_count", "count"),
        _ok(kind, b'{"type": "usage", "account_id": "a", "time": "bad", "time": 1772460300}', "usage"),
        _ok(kind, _dumps(_usage())[:-1] + b', "x": 1, "x": 2, "x": {"y": 1, "y": 2}}', "usage"),
    ]


def _extra_fields() -> list[Nasty]:
    kind = "unknown_extra_field"
    extras = [
        b"1",
        b'"x"',
        b"null",
        b"[]",
        b"{}",
        b'{"nested": {"deep": [1, 2, {"a": null}]}}',
        b'"' + b"z" * 30_000 + b'"',
        b"true",
        b'"\\u0000"',
        b"-0.0e-0",
    ]
    out = [_ok(kind, _with_extra(extra), "usage") for extra in extras]
    out.append(_ok(kind, _dumps(_ticket(priority="p1", customer={"name": "x"}, tags=["a"])), "ticket"))
    out.append(_ok(kind, _dumps(_account(schema="v9", **{"": 1, "\u0000": 2})), "account"))
    return out


def _bom() -> list[Nasty]:
    kind = "byte_order_mark"
    bom = b"\xef\xbb\xbf"
    event = _dumps(_usage())
    return [
        _ok(kind, bom + event, "usage"),
        _ok(kind, bom + _dumps(_ticket()), "ticket"),
        _no(kind, bom + bom + event, "not_json"),
        _no(kind, b" " + bom + event, "not_json"),
        _no(kind, event[:-1] + b", " + bom + b'"x": 1}', "not_json"),
        _no(kind, bom, "not_json"),
        _no(kind, bom + b"[]", "not_object"),
    ]


def _nulls() -> list[Nasty]:
    kind = "nulls"
    return [
        _no(kind, b"null", "not_object"),
        _no(kind, _dumps(_usage(account_id=None)), "invalid_field", "account_id"),
        _no(kind, _dumps(_usage(time=None)), "invalid_field", "time"),
        _no(kind, _dumps(_usage(count=None)), "invalid_field", "count"),
        _no(kind, _dumps(_ticket(severity=None)), "invalid_field", "severity"),
        _no(kind, _dumps(_usage(schema_version=None)), "unsupported_version", "schema_version"),
        _no(kind, _dumps(_release(features=None)), "invalid_field", "features"),
        _no(kind, _dumps(_release(features=[None])), "invalid_field", "features.0"),
        _ok(kind, _dumps(_usage(feature=None)), "usage"),
        _ok(kind, _dumps(_ticket(subject=None, channel=None)), "ticket"),
        _ok(kind, _dumps(_account(owner=None, renewal_date=None, seats_used=None)), "account"),
        _ok(kind, _dumps(_usage(account_id="a\u0000b")), "usage"),  # an escaped NUL is a character
        _no(kind, b'{"type": "usage", "account_id": "a\x00b", "time": 1772460300}', "not_json"),
        _no(kind, b"\x00", "not_json"),
        _no(kind, b"", "not_json"),
    ]


def _top_level() -> list[Nasty]:
    kind = "top_level_not_object"
    tops = [b"[]", b"[1, 2]", b'"usage"', b"42", b"-1.5e3", b"true", b"false", b"[" + _dumps(_usage()) + b"]"]
    return [_no(kind, top, "not_object") for top in tops]


def _not_json() -> list[Nasty]:
    kind = "not_json"
    event = _dumps(_usage())
    raws = [
        b"{",
        event[:-1],
        event + b"}",
        event + event,
        event + b"\n" + event,
        b"{'type': 'usage'}",
        event[:-1] + b", }",
        b'{"type": "usage", /* c */ "time": 1}',
        b'{"type": "usage" "time": 1}',
        b"   ",
        b"\n",
        b'{"type": "\\x41"}',
        b'{"account_id": "\\ud800", "type": "usage"}',
        b'{"type": "usage", "account_id": "a\\',
        b"\x1b[31m",
        b"<event/>",
    ]
    out = [_no(kind, raw, "not_json") for raw in raws]
    out.append(_ok(kind, event + b"\r\n\t ", "usage"))  # trailing whitespace is still one JSON text
    out.append(_ok(kind, _dumps(_usage(account_id="\ud83d\ude00")), "usage"))  # escaped surrogate pair
    return out


def build_corpus(seed: int = 8) -> list[Nasty]:
    """Every nasty record, in a fixed order for a given ``seed``."""
    rng = random.Random(seed)
    return [
        *_invalid_utf8(rng),
        *_deep(),
        *_huge(),
        *_numbers(),
        *_nan_inf(),
        *_times(),
        *_unknown_types(),
        *_empty_ids(),
        *_long_ids(),
        *_duplicate_keys(),
        *_extra_fields(),
        *_bom(),
        *_nulls(),
        *_top_level(),
        *_not_json(),
    ]


def tally(corpus: list[Nasty]) -> dict[str, Counter[str]]:
    """Per class: records tried, expected accepted and expected rejected."""
    table: dict[str, Counter[str]] = {}
    for item in corpus:
        row = table.setdefault(item.kind, Counter())
        row["tried"] += 1
        row["accepted" if item.accepted_as else "rejected"] += 1
    return table


def format_table(table: dict[str, Counter[str]]) -> str:
    """The tally as a Markdown table, the form the README's reliability section shows."""
    lines = ["| input class | tried | accepted | rejected |", "|---|---:|---:|---:|"]
    for kind, row in table.items():
        lines.append(f"| {kind} | {row['tried']} | {row['accepted']} | {row['rejected']} |")
    total = Counter()
    for row in table.values():
        total.update(row)
    lines.append(f"| **total** | {total['tried']} | {total['accepted']} | {total['rejected']} |")
    return "\n".join(lines)
