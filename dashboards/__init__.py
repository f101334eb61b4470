"""The Dash dashboard."""
