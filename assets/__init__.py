"""Dagster asset definitions for the OBA pipeline."""
