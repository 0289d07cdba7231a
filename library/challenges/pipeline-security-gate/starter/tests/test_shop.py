from shop import cart_total


def test_cart_total():
    assert cart_total([(1.5, 2), (2.25, 4)]) == 12.0
