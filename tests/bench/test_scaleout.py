from bench.processes import PassTiming, ServiceProcess
from bench.scaleout import group_counted, group_processed, report, time_group

SLEEP = ["timeit", "-n", "1", "import time; time.sleep(30)"]  # a process that stays up, doing nothing


class _Stub:
    """A worker's two endpoints, as the bench reads them."""

    def __init__(self, counts: dict | None, metrics: str | None) -> None:
        self.counts, self.metrics = counts, metrics

    def get_json(self, path: str) -> dict | None:
        assert path == "/counts"
        return self.counts

    def get_text(self, path: str) -> str | None:
        assert path == "/metrics"
        return self.metrics


def test_the_group_is_done_only_when_detection_has_learnt_everything_counted():
    ingest_only = _Stub({"by_type": {"usage": 50}}, "spikewatch_events_total 50.0\n")
    detecting = _Stub({"by_type": {"usage": 50}}, "spikewatch_detection_events 70.0\n")
    assert group_counted([ingest_only, detecting]) == 100
    assert group_processed([ingest_only, detecting]) == 70  # 30 counted, not learnt yet


def test_detection_cannot_run_ahead_of_what_was_counted():
    # a restarted ingest counts again from its table; detection's figure is capped by it
    detecting = _Stub({"by_type": {"usage": 10}}, "spikewatch_detection_events 70.0\n")
    assert group_processed([detecting]) == 10


def test_a_worker_not_answering_yet_is_no_progress():
    up = _Stub({"by_type": {"usage": 10}}, "spikewatch_detection_events 10.0\n")
    assert group_processed([up, _Stub(None, None)]) is None
    assert group_processed([up, _Stub({"by_type": {}}, None)]) is None


def test_time_group_sums_cpu_over_the_workers_and_stops_at_the_total(tmp_path):
    sleepers = [ServiceProcess(SLEEP, log_path=tmp_path / f"{i}.log") for i in range(2)]
    polls = iter([None, 3, 6, 10])
    try:
        timing = time_group("2 sleepers", sleepers, lambda workers: next(polls), total=10, poll=0.01)
    finally:
        for s in sleepers:
            s.stop()
    assert timing.name == "2 sleepers" and timing.events == 10
    assert 0 < timing.first <= timing.end
    assert timing.cpu >= 0


def test_a_pass_past_its_timeout_is_named_partial(tmp_path):
    sleeper = ServiceProcess(SLEEP, log_path=tmp_path / "s.log")
    try:
        timing = time_group("1 worker", [sleeper], lambda workers: 4, total=10, timeout=0.0, poll=0.01)
    finally:
        sleeper.stop()
    assert timing.name == "1 worker (partial: 4 of 10)" and timing.events == 4


def test_report_gives_the_speed_up_over_one_worker():
    one, two = PassTiming("1 worker", 100, 0.0, 10.0, 8.0), PassTiming("2 workers", 100, 0.0, 8.0, 9.0)
    assert report({1: one, 2: two}).splitlines()[-1].endswith("| 1.25 | 1.25 |")
    assert report({2: two}).splitlines()[-1].endswith("| – | – |")
