"""Pure, deterministic detectors in event time, and the engine that routes events to them."""

from detectors.activity import ActivityTracker, HourOfWeekProfile
from detectors.base import Detector
from detectors.churn import SilentChurnDetector
from detectors.clock import EventClock
from detectors.dedup import TicketDeduplicator
from detectors.flood import AccountFloodDetector
from detectors.regression import BreadthSpikeDetector, WindowReport
from detectors.releases import ReleaseIndex, Suspect

__all__ = [
    "AccountFloodDetector",
    "ActivityTracker",
    "BreadthSpikeDetector",
    "Detector",
    "EventClock",
    "HourOfWeekProfile",
    "ReleaseIndex",
    "SilentChurnDetector",
    "Suspect",
    "TicketDeduplicator",
    "WindowReport",
]
