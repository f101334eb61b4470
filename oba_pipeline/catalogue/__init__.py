"""Declarative catalogues: indicators, instruments, spend lines."""
