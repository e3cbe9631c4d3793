from prometheus_client import CollectorRegistry

from detectors.release_quality import ReleaseQuality
from schemas.alerts import Alert
from schemas.feedback import AlertLabel
from stream.release_metrics import ReleaseIncidentsCollector

T0 = 1_772_668_800.0


def page(key: str, release: str, pages: bool = True) -> Alert:
    return Alert(kind="regression", severity="critical", pages=pages, dedup_key=key, summary="up",
                 feature="sso", release=release, started_at=T0, event_time=T0 + 600)  # fmt: skip


def sample(registry: CollectorRegistry, release: str, label: str) -> float | None:
    return registry.get_sample_value("spikewatch_release_incidents", {"release": release, "label": label})


def test_labels_and_pages_are_counted_per_release():
    registry, quality = CollectorRegistry(), ReleaseQuality(maxlen=10)
    ReleaseIncidentsCollector(quality, registry)
    quality.observe(page("r:a", "v1"))
    quality.observe(page("r:b", "v1", pages=False))
    quality.apply(AlertLabel(dedup_key="r:a", label="confirmed", time=T0 + 900))
    assert sample(registry, "v1", "confirmed") == 1
    assert sample(registry, "v1", "unlabelled") == 1
    assert sample(registry, "v1", "paged") == 1
    assert sample(registry, "v1", "false-alarm") == 0


def test_cardinality_is_bounded_by_the_releases_held():
    registry, quality = CollectorRegistry(), ReleaseQuality(maxlen=3)
    ReleaseIncidentsCollector(quality, registry)
    for i in range(20):
        quality.observe(page(f"r:{i}", f"v{i}"))
    releases = {s.labels["release"] for m in registry.collect() for s in m.samples
                if s.name == "spikewatch_release_incidents"}  # fmt: skip
    assert releases == {"v17", "v18", "v19"}
    assert sample(registry, "v0", "unlabelled") is None
