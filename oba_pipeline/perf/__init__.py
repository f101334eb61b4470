"""Performance measurements, run by hand; figures are written down in the README, never asserted by tests."""
