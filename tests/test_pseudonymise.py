"""Pseudonymisation: keyed, stable across nights, and refusing to run without a key."""

import polars as pl
import pytest

from oba_pipeline.ingest.pseudonymise import PseudonymKeyError, load_key, pseudonym, pseudonymise_column


def test_same_child_same_pseudonym_and_different_key_different_pseudonym() -> None:
    key = load_key()
    assert pseudonym(key, "child", "C0001") == pseudonym(key, "child", "C0001 ")
    assert pseudonym(key, "child", "C0001") != pseudonym(b"another-key-0123456789", "child", "C0001")
    assert pseudonym(key, "child", "C0001") != pseudonym(key, "family", "C0001")
    assert len(pseudonym(key, "child", "C0001")) == 32


def test_pseudonymise_column_replaces_in_place() -> None:
    frame = pl.DataFrame({"referral_date": ["x", "y", "z"], "child_id": ["C1", "C2", "C1"], "other": [1, 2, 3]})
    result = pseudonymise_column(frame, "child_id", "child_key", "child", load_key())
    assert result.columns == ["referral_date", "child_key", "other"]
    keys = result.get_column("child_key").to_list()
    assert keys[0] == keys[2] != keys[1]
    assert "C1" not in keys
    assert keys == [pseudonym(load_key(), "child", value) for value in ["C1", "C2", "C1"]]


def test_pseudonyms_stay_what_they_were_on_earlier_nights() -> None:
    # HMAC-SHA-256 of "child:C1" under this key, truncated to 32 hex characters: a change of scheme would
    # break every child's link to the referrals of earlier nights.
    key = b"k" * 32
    frame = pl.DataFrame({"child_id": ["C1", " C1 ", None]})
    expected = "f9e64a12d3f943a0018508cefe7026bb"
    assert pseudonym(key, "child", "C1") == expected
    assert pseudonymise_column(frame, "child_id", "child_key", "child", key).get_column("child_key").to_list() == [
        expected, expected, None]


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBA_PSEUDONYM_KEY")
    with pytest.raises(PseudonymKeyError, match="OBA_PSEUDONYM_KEY"):
        load_key()


def test_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("OBA_PSEUDONYM_KEY")
    monkeypatch.setenv("OBA_PSEUDONYM_KEY_FILE", str(tmp_path / "missing.key"))
    with pytest.raises(PseudonymKeyError, match="does not exist"):
        load_key()
    (tmp_path / "k.key").write_text("x" * 40 + "\n")
    monkeypatch.setenv("OBA_PSEUDONYM_KEY_FILE", str(tmp_path / "k.key"))
    assert load_key() == b"x" * 40
