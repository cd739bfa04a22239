"""Dispositions in records.db: one per call (given again, it replaces), counted per code in a
range, notes holding a card number refused with nothing stored."""

from __future__ import annotations

import pytest

from branchline.firmware.records.database import Records
from branchline.firmware.records.dispositions import Disposition, disposition_counts
from branchline.firmware.records.errors import SensitiveDataRefused

CARD = "6222021234567894"


def test_one_disposition_per_call_counted_by_code(tmp_path):
    with Records(tmp_path / "records.db") as records:
        records.add_disposition(Disposition(100.0, "1001", "c1", "resolved", ""))
        records.add_disposition(Disposition(101.0, "1001", "c1", "follow_up", "call back"))
        records.add_disposition(Disposition(102.0, "1002", "c2", "follow_up", "客户要求回电"))
        records.add_disposition(Disposition(500.0, "1002", "c3", "resolved", ""))
        assert disposition_counts(records, 0.0, 200.0) == {"follow_up": 2}
        assert disposition_counts(records, 0.0, 600.0) == {"follow_up": 2, "resolved": 1}
        rows = records.rows("SELECT call_id, at_utc, notes FROM dispositions ORDER BY call_id")
    assert rows[0] == ("c1", "1970-01-01T00:01:41Z", "call back")
    assert rows[1][2] == "客户要求回电"


def test_a_card_number_in_the_notes_is_refused_and_nothing_is_stored(tmp_path):
    with Records(tmp_path / "records.db") as records:
        with pytest.raises(SensitiveDataRefused, match="field notes holds what looks like a "
                                                        "full card number"):
            records.add_disposition(Disposition(1.0, "1001", "c1", "resolved",
                                                f"card {CARD[:4]} {CARD[4:8]} {CARD[8:12]} "
                                                f"{CARD[12:]}"))
        assert records.rows("SELECT count(*) FROM dispositions") == [(0,)]
