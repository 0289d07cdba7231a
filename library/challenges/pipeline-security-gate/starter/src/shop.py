"""Shopping cart totals."""


def cart_total(lines):
    return round(sum(price * qty for price, qty in lines), 2)
