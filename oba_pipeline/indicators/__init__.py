"""OBA indicators: the calendar of working days and the catalogue-driven indicator engine."""
