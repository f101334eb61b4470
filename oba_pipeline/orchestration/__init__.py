"""Orchestration: partitions, schedules, sensors, checks and notifications of the nightly refresh."""
