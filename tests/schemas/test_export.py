"""The exported JSON Schema files: fresh, well-formed, and agreeing with the pydantic models.

The round trip checks events the way a producer in another language would: with a generic JSON Schema
validator (``jsonschema``) reading only the files in ``schemas/json/``.
"""

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from schemas.alerts import Alert
from schemas.deadletter import DeadLetter
from schemas.export import DEFAULT_DIR, build_schemas, main, render, stale_files, write_schemas
from schemas.parse import Rejection, parse_event

T = 1772460300
EXPECTED_FILES = {
    "feedback.schema.json",
    "ticket.schema.json",
    "usage.schema.json",
    "release.schema.json",
    "account.schema.json",
    "event.schema.json",
    "alert.schema.json",
    "deadletter.schema.json",
}

VALID = {
    "ticket": [
        {"type": "ticket", "ticket_id": "T-1", "account_id": "acme", "feature": "checkout", "time": T},
        {
            "type": "ticket",
            "schema_version": 1,
            "ticket_id": "T-2",
            "account_id": "acme",
            "feature": "sso",
            "severity": "urgent",
            "subject": "cannot log in",
            "channel": "email",
            "created_at": "2026-03-02T15:05:00.123+01:00",
            "unknown_extra": [1, 2],
        },
    ],
    "usage": [
        {"type": "usage", "account_id": "acme", "time": "2026-03-02T14:05:00Z"},
        {"type": "usage", "account_id": "acme", "feature": "search", "count": 1250, "time": T * 1000},
    ],
    "release": [
        {
            "type": "release",
            "version": "4.2.0",
            "features": ["checkout", "sso"],
            "time": T,
            "description": "x",
        },
    ],
    "account": [
        {"type": "account", "account_id": "acme", "mrr": 1200.5, "seats": 50, "tier": "business", "time": T},
        {
            "type": "account",
            "account_id": "acme",
            "mrr": 0,
            "seats": 5,
            "seats_used": 7,
            "tier": "self-serve",
            "renewal_date": "2026-06-30",
            "owner": "jane@example.com",
            "time": "2026-03-02T14:05:00-05:00",
        },
    ],
}

INVALID = {
    "ticket": [
        {"type": "ticket", "ticket_id": "T-1", "account_id": "acme", "feature": "checkout"},  # no time
        {"type": "ticket", "ticket_id": "", "account_id": "acme", "feature": "checkout", "time": T},
        {"type": "ticket", "ticket_id": "T", "account_id": "a", "feature": "f", "severity": "p1", "time": T},
        {"type": "ticket", "ticket_id": "T", "account_id": "a", "feature": "x" * 65, "time": T},
        {
            "type": "ticket",
            "ticket_id": "T",
            "account_id": "a",
            "feature": "f",
            "time": "2026-03-02T14:05:00",
        },
        {"ticket_id": "T", "account_id": "a", "feature": "f", "time": T},  # no type
    ],
    "usage": [
        {"type": "usage", "account_id": "acme", "count": -1, "time": T},
        {"type": "usage", "account_id": "acme", "count": 1.5, "time": T},
        {"type": "usage", "account_id": "acme", "count": True, "time": T},
        {"type": "usage", "account_id": "acme", "time": 12},
        {"type": "usage", "account_id": "acme", "time": T * 10**6},
        {"type": "usage", "account_id": "   ", "time": T},
        {"type": "usage", "schema_version": 2, "account_id": "acme", "time": T},
    ],
    "release": [
        {"type": "release", "version": "1", "features": [], "time": T},
        {"type": "release", "version": "1", "features": ["a", "a"], "time": T},
        {"type": "release", "version": "1", "features": "checkout", "time": T},
    ],
    "account": [
        {"type": "account", "account_id": "a", "mrr": -1, "seats": 1, "tier": "t", "time": T},
        {"type": "account", "account_id": "a", "mrr": "12", "seats": 1, "tier": "t", "time": T},
        {"type": "account", "account_id": "a", "mrr": 1, "seats": -1, "tier": "t", "time": T},
        {"type": "account", "account_id": "a", "mrr": 1, "seats": 1, "time": T},  # no tier
    ],
}


def load(name):
    return json.loads((DEFAULT_DIR / name).read_text(encoding="utf-8"))


def validator(name):
    return Draft202012Validator(load(name))


def cases(table):
    return [(kind, example) for kind, examples in table.items() for example in examples]


def test_committed_files_are_fresh(tmp_path):
    write_schemas(tmp_path)
    generated = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    committed = {path.name: path.read_text(encoding="utf-8") for path in DEFAULT_DIR.glob("*.schema.json")}
    assert set(generated) == EXPECTED_FILES
    assert committed == generated, "schemas/json is stale: run python -m schemas.export"


def test_generation_is_deterministic():
    assert {n: render(s) for n, s in build_schemas().items()} == {
        n: render(s) for n, s in build_schemas().items()
    }


def test_render_sorts_keys_and_ends_with_newline():
    text = render({"b": 1, "a": {"d": 2, "c": 3}})
    assert text.endswith("}\n")
    assert text.index('"a"') < text.index('"b"') and text.index('"c"') < text.index('"d"')


@pytest.mark.parametrize("name", sorted(EXPECTED_FILES))
def test_files_are_valid_2020_12_schemas_with_id_and_versioned_title(name):
    schema = load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:spikewatch:schema:v1:{name.removesuffix('.schema.json')}"
    assert "schema version 1" in schema["title"]


def test_check_mode_reports_stale_missing_and_extra_files(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--check"]) == 1  # empty: all missing
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "usage.schema.json").write_text("{}\n")
    (tmp_path / "refund.schema.json").write_text("{}\n")
    assert stale_files(tmp_path) == ["usage.schema.json", "refund.schema.json"]
    capsys.readouterr()
    assert main(["--out", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert "usage.schema.json" in err and "refund.schema.json" in err


@pytest.mark.parametrize(("kind", "example"), cases(VALID))
def test_valid_examples_pass_the_type_schema_the_union_schema_and_pydantic(kind, example):
    validator(f"{kind}.schema.json").validate(example)
    validator("event.schema.json").validate(example)
    event = parse_event(orjson.dumps(example))
    assert not isinstance(event, Rejection), event
    assert event.type == kind


@pytest.mark.parametrize(("kind", "example"), cases(INVALID))
def test_invalid_examples_fail_both_the_schema_files_and_pydantic(kind, example):
    assert not validator(f"{kind}.schema.json").is_valid(example)
    assert not validator("event.schema.json").is_valid(example)
    assert isinstance(parse_event(orjson.dumps(example)), Rejection)


def test_union_schema_rejects_unknown_types():
    assert not validator("event.schema.json").is_valid({"type": "refund", "account_id": "a", "time": T})


def test_emitted_alerts_and_dead_letters_match_their_schema_files():
    alert = Alert(
        kind="churn_risk",
        severity="warning",
        dedup_key="churn_risk:acme",
        summary="acme usage down 60% over 4 weeks",
        account_id="acme",
        tier="enterprise",
        score=3.2,
        evidence={"mrr_at_risk": 1200.5},
        started_at=T,
        event_time=T + 3600,
    )
    validator("alert.schema.json").validate(orjson.loads(alert.to_json()))
    raw = b'{"type": "usage", "count": -1}'
    rejection = parse_event(raw)
    letter = rejection.to_dead_letter(raw, "usage", 0, 1)
    validator("deadletter.schema.json").validate(orjson.loads(letter.to_json()))
    assert isinstance(letter, DeadLetter)
    assert not validator("alert.schema.json").is_valid({**orjson.loads(alert.to_json()), "kind": "spike"})


# The schema files and the worker must agree: a producer that checks its events against the files
# should see the worker accept them, and the worker should accept nothing the files call invalid.
# Known gaps, left out of the pool: impossible calendar days ("2026-02-30") and an offset pushing an
# edge time out of range pass the pattern; an invalid `created_at` beside a valid `time` is ignored by
# the worker.
_POOL = [
    None,
    True,
    0,
    -1,
    1.5,
    5.0,
    T,
    T * 1000,
    T + 0.5,
    99_999_999_999,
    100_000_000_000,
    946_684_799,
    2**53,
    2**53 - 1,
    "",
    " ",
    "\u00a0",
    "\x1c",
    "a",
    "x" * 65,
    "x" * 257,
    "urgent",
    "HIGH",
    "ticket",
    "2026-03-02T14:05:00Z",
    "2026-03-02T14:05:00",
    "2026-03-02T14:05:60Z",
    "2026-13-02T14:05:00Z",
    "2026-03-02T14:05:00+24:00",
    "2026-03-02T14:05+0530",
    "2026-03-02 14:05:00.123456789z",
    "1999-12-31T23:59:59Z",
    "2026-06-30",
    "2026-06-31",
    ["a", "a"],
    ["a", ""],
    ["a"],
    [],
    {},
]
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=70),
    st.lists(st.text(max_size=5), max_size=3),
    st.sampled_from(_POOL),
)
_examples = [example for examples in VALID.values() for example in examples]
_fields = sorted({name for example in _examples for name in example} | {"schema_version", "type"})
_EVENT_VALIDATOR = Draft202012Validator(
    load("event.schema.json"), format_checker=Draft202012Validator.FORMAT_CHECKER
)
_MISSING = object()


def _disagreement(example, name, value):
    event = {key: val for key, val in example.items() if key != name}
    if value is not _MISSING:
        event[name] = value
    schema_ok = _EVENT_VALIDATOR.is_valid(event)
    worker_ok = not isinstance(parse_event(orjson.dumps(event)), Rejection)
    ignored_alias = name == "created_at" and "time" in event
    if schema_ok == worker_ok or (ignored_alias and worker_ok):
        return None
    return f"schema says {schema_ok}, worker says {worker_ok}: {event}"


def test_schema_files_and_worker_agree_on_every_single_field_change():
    changes = [(ex, name, value) for ex in _examples for name in _fields for value in [*_POOL, _MISSING]]
    assert len(changes) > 2000
    assert [d for d in (_disagreement(*change) for change in changes) if d] == []


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_examples), st.sampled_from(_fields), _values)
def test_schema_files_and_worker_agree_on_random_field_values(example, name, value):
    assert _disagreement(example, name, value) is None
