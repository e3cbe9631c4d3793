"""Simulated SaaS world, offline replay and backtest of the detection engine.

``config`` → ``world`` (accounts, features, seasonality) → ``plan`` (releases and labelled incidents)
→ ``activity`` (hourly intensity with incidents applied) → ``simulator`` + ``delivery`` (the JSONL
stream and its ``labels``). ``intensity`` rebuilds the true rates for the ``oracle``; ``replay`` feeds
a stream to the engine; ``naive`` is the baseline; ``scoring``, ``backtest`` and ``report`` judge them.
"""
