"""The release-quality history as a Prometheus metric, with bounded cardinality.

``spikewatch_release_incidents{release, label}``: incidents blamed on each of the releases held by a
:class:`~detectors.release_quality.ReleaseQuality` (its ``maxlen`` most recently blamed, so at most
``maxlen × 6`` series), by their latest label (``confirmed``, ``false-alarm``, ``expected``,
``new-normal`` or ``unlabelled``) and ``label="paged"`` for those that paged. A release that falls out of
the history disappears from the scrape: the metric is collected from the history at scrape time.

Examples
--------
>>> from prometheus_client import CollectorRegistry
>>> from detectors.release_quality import ReleaseQuality
>>> from schemas.alerts import Alert
>>> registry, quality = CollectorRegistry(), ReleaseQuality(maxlen=5)
>>> _ = ReleaseIncidentsCollector(quality, registry)
>>> quality.observe(Alert(kind="regression", severity="critical", pages=True, dedup_key="r:a",
...                       summary="up", feature="sso", release="v2.0.1", started_at=1772668800,
...                       event_time=1772669400))
>>> registry.get_sample_value("spikewatch_release_incidents", {"release": "v2.0.1", "label": "unlabelled"})
1.0
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from detectors.release_quality import ReleaseQuality
from schemas.feedback import FEEDBACK_LABELS

__all__ = ["ReleaseIncidentsCollector"]

_LABELS = (*FEEDBACK_LABELS, "unlabelled")


class ReleaseIncidentsCollector(Collector):
    """Collects ``spikewatch_release_incidents`` from ``quality`` at every scrape."""

    def __init__(self, quality: ReleaseQuality, registry: CollectorRegistry | None = None) -> None:
        self.quality = quality
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "spikewatch_release_incidents",
            "Incidents blamed on each of the most recently blamed releases, by label (and paged).",
            labels=["release", "label"],
        )
        for release in self.quality.releases():
            summary = self.quality.summary(release)
            for label in _LABELS:
                family.add_metric([release, label], float(summary[label]))
            family.add_metric([release, "paged"], float(summary["pages"]))
        yield family

    def describe(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily("spikewatch_release_incidents", "", labels=["release", "label"])]
