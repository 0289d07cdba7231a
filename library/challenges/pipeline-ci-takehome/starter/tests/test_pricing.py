import pytest

from pricing import line_total, total


def test_line_total():
    assert line_total(2.5, 4) == 10.0


def test_negative_quantity():
    with pytest.raises(ValueError):
        line_total(1, -1)


def test_total_with_vat_and_discount():
    items = [{"price": 10, "qty": 2}, {"price": 5, "qty": 1}]
    assert total(items) == 30.0
    assert total(items, discount_pct=10) == 27.0
