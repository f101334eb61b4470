"""Outcomes-Based Accountability toolkit: nightly extracts in, OBA indicators and dashboards out."""

__version__ = "0.1.0"
