"""The benchmark compares like with like: the pandas yardstick and the pipeline give the same figures.

Both run on the same small clean extracts (no planted bad rows: the yardstick does not validate, so a row
the pipeline sets aside would count in one and not the other), and are compared before disclosure
control, on the warehouse table `indicator_values_computed`.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from oba_pipeline.config import Home
from oba_pipeline.generate import generate
from oba_pipeline.generate.scales import SCALES, Scale, invented_authorities
from oba_pipeline.perf import pandas_baseline
from oba_pipeline.refresh import run_refresh

pytestmark = pytest.mark.integration

CLEAN_TINY = dataclasses.replace(SCALES["tiny"], name="tiny-clean", mess_rate=0.0)
# Two invented authorities pooled, as the regional and national scales pool 30 and 153.
CLEAN_POOLED = Scale(name="pooled-clean", authorities=partial(invented_authorities, count=2, children=14_000),
                     window_years=3, history_years=14, detailed_truth=False, mess_rate=0.0)
KEY = ["indicator_id", "area_code", "period_type", "period_start"]


def pipeline_values(extracts: Path, home: Home) -> pd.DataFrame:
    outcome = run_refresh(home, extracts, notify_failures=False)
    assert outcome.success, outcome.failures + outcome.failed_checks
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        values = con.execute("select * from indicator_values_computed where indicator_id in "
                             "(select unnest($ids::varchar[]))", {"ids": list(pandas_baseline.INDICATORS)}).df()
    finally:
        con.close()
    values["period_start"] = pd.to_datetime(values["period_start"])
    return values


@pytest.mark.parametrize("scale", [CLEAN_TINY, CLEAN_POOLED], ids=["one authority", "two authorities pooled"])
def test_pandas_yardstick_equals_the_pipeline_before_disclosure(scale: Scale, tmp_path: Path) -> None:
    extracts = tmp_path / "extracts"
    generate(extracts, seed=11, scale=scale)
    ours = pipeline_values(extracts, Home(tmp_path / "home")).set_index(KEY).sort_index()
    theirs = pandas_baseline.compute(pandas_baseline.read_extracts(extracts)).set_index(KEY).sort_index()

    assert set(theirs.index.get_level_values("indicator_id")) == set(pandas_baseline.INDICATORS)
    missing, extra = ours.index.difference(theirs.index), theirs.index.difference(ours.index)
    assert missing.empty and extra.empty, (list(missing[:5]), list(extra[:5]))
    theirs = theirs.loc[ours.index]
    different = ours["status"] != theirs["status"]
    assert not different.any(), ours.loc[different, ["status"]].join(theirs["status"], rsuffix="_pandas").head()
    for column in ("numerator", "denominator", "value"):
        same = np.isclose(ours[column].astype(float), theirs[column].astype(float), rtol=1e-9, equal_nan=True)
        assert same.all(), (column, ours.loc[~same, [column]].join(theirs[column], rsuffix="_pandas").head())
    # Not vacuous: real counts, several statuses, every area.
    assert ours["numerator"].sum() > 1_000
    assert {"ok", "x"} <= set(ours["status"])
    if scale is CLEAN_POOLED:
        assert "ALL" in set(ours.index.get_level_values("area_code"))
