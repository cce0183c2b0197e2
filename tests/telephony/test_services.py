"""The gateway's writes, below the IVR: masked numbers and the throttling key."""

from __future__ import annotations

import pytest

from antenne.telephony.services import caller_hash, mask_number


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+33612345678", "+33 •• 78"),
        ("0033612345678", "+33 •• 78"),
        ("0612345678", "•• 78"),
        ("anonymous", "••"),
        ("", "••"),
        ("12", "••"),
        ("tester", "••"),
    ],
)
def test_numbers_are_masked_for_staff(number, masked):
    assert mask_number(number) == masked


def test_the_throttling_key_is_keyed_and_stable():
    assert caller_hash("+33612345678") == caller_hash("+33612345678")
    assert caller_hash("+33612345678") != caller_hash("+33612345679")
    assert "33612345678" not in caller_hash("+33612345678")
