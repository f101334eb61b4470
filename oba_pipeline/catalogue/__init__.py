"""Declarative catalogues: indicators, instruments, spend lines."""

from oba_pipeline.catalogue.catalogue import Catalogue, CatalogueError, Indicator, load_catalogue

__all__ = ["Catalogue", "CatalogueError", "Indicator", "load_catalogue"]
