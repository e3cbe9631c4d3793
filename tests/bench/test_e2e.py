from bench.e2e import report
from bench.processes import PassTiming


def test_report_gives_same_run_ratios_of_rates_and_cpu():
    timings = {
        "raw": PassTiming("raw", 1000, 0.0, 1.0, 0.5),
        "naive": PassTiming("naive", 1000, 1.0, 11.0, 5.0),
        "spikewatch": PassTiming("spikewatch (partial: 500 of 1,000)", 500, 2.0, 52.0, 25.0),
    }
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in report(timings).splitlines()
            if line.startswith("| ") and not line.startswith("| pass")}
    spikewatch = rows["spikewatch (partial: 500 of 1,000)"]
    assert spikewatch[1] == "500"
    assert spikewatch[7:11] == ["0.010", "0.100", "0.010", "0.100 |"]
    assert rows["raw"][7] == "1.000"


def test_report_without_baselines_leaves_ratios_blank():
    text = report({"spikewatch": PassTiming("spikewatch", 10, 1.0, 2.0, 1.0)})
    assert "| – | – | – | – |" in text
