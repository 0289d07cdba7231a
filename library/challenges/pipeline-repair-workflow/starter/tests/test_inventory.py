import pytest

from inventory import receive, ship


def test_receive_then_ship():
    s = receive({}, "apple", 5)
    assert ship(s, "apple", 3) == {"apple": 2}


def test_cannot_ship_more_than_stock():
    with pytest.raises(ValueError):
        ship({"apple": 1}, "apple", 2)
