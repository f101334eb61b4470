"""Data contracts: loading them and running them through Great Expectations."""
