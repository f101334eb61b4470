"""Turn the curve: baselines (history plus a statistical forecast), frozen vintages, named scenarios,
polarity-aware verdicts, scorecard columns and the story behind the curve."""
