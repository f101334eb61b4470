"""The benchmark's own arithmetic: step times and where the memory peak falls."""

from __future__ import annotations

from oba_pipeline.perf.bench import OUTSIDE_STEPS, Measured, largest_peaks, step_peaks, step_seconds


def _measured(timeline: list[tuple[float, float]]) -> Measured:
    return Measured(seconds=10.0, peak_mb=max(mb for _, mb in timeline), returncode=0, output="", timeline=timeline)


def test_each_steps_peak_is_the_largest_sample_taken_while_it_ran() -> None:
    windows = {"staging": (100.0, 104.0), "marts": (104.5, 106.0), "quick": (106.01, 106.02)}
    timeline = [(100.2, 900.0), (103.9, 3100.0), (104.3, 5000.0), (104.6, 1200.0), (105.9, 1500.0)]
    peaks = step_peaks(windows, _measured(timeline))
    # The 5,000 MB sample fell between the two steps, so it is neither's but is kept; the quick step had none.
    assert peaks == {"staging": 3100.0, "marts": 1500.0, OUTSIDE_STEPS: 5000.0}
    assert largest_peaks(peaks) == "(outside the steps) 4.88 GB, staging 3.03 GB, marts 1.46 GB"


def test_a_step_cut_short_runs_to_the_last_sample_and_is_named_unfinished() -> None:
    windows = {"staging": (100.0, 104.0), "turn_the_curve": (104.0, None)}
    timeline = [(101.0, 800.0), (110.0, 2700.0), (130.0, 9300.0)]
    assert step_peaks(windows, _measured(timeline)) == {"staging": 800.0, "turn_the_curve": 9300.0}
    assert step_seconds(windows, now=140.0) == {"staging": 4.0, "turn_the_curve (unfinished)": 36.0}
