"""The ``spikewatch`` command line.

Each group of commands lives in its own module under :mod:`stream.commands` and adds itself to the
application through a ``register(app)`` function, so this file only lists them.
"""

from __future__ import annotations

import typer

from stream.commands import alerts, demo, feedback, kafka, lab, produce, releases, settings, worker

app = typer.Typer(
    name="spikewatch",
    help=(
        "Streaming spike and anomaly detection for SaaS support tickets and usage.\n\n"
        "Consumes ticket, usage, release and account events from Kafka and raises alerts for release "
        "regressions (pages), single-account floods, feature drift, silent churn risk and expansion "
        "candidates. Start with `spikewatch demo`."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

for module in (demo, kafka, worker, produce, settings, lab, alerts, feedback, releases):
    module.register(app)


def main() -> None:
    """Entry point of the ``spikewatch`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
