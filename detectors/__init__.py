"""Pure, deterministic detectors in event time, and the engine that routes events to them."""

from detectors.activity import ActivityTracker, HourlyProfile
from detectors.base import Detector
from detectors.churn import SilentChurnDetector
from detectors.clock import EventClock
from detectors.cusum import CusumBank
from detectors.dedup import TicketDeduplicator
from detectors.drift import FeatureDriftDetector
from detectors.engine import DetectionEngine
from detectors.expansion import ExpansionDetector
from detectors.flood import AccountFloodDetector
from detectors.regression import BreadthSpikeDetector, WindowReport
from detectors.releases import ReleaseIndex, Suspect
from detectors.series import SeriesAnomalyDetector

__all__ = [
    "AccountFloodDetector",
    "ActivityTracker",
    "BreadthSpikeDetector",
    "CusumBank",
    "DetectionEngine",
    "Detector",
    "EventClock",
    "ExpansionDetector",
    "FeatureDriftDetector",
    "HourlyProfile",
    "ReleaseIndex",
    "SeriesAnomalyDetector",
    "SilentChurnDetector",
    "Suspect",
    "TicketDeduplicator",
    "WindowReport",
]
