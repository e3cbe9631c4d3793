"""Command groups of the ``spikewatch`` CLI, one module each."""
