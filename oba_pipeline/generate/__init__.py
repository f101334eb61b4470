"""Synthetic extracts for demos, tests and benchmarks.

from oba_pipeline.generate import generate
generate(Path("sample_data"), seed=42, scale="sample")   # returns the ground_truth.yaml path
"""

from oba_pipeline.generate.scales import SCALES, Scale
from oba_pipeline.generate.synthetic import generate

__all__ = ["SCALES", "Scale", "generate"]
