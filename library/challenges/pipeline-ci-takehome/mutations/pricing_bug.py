"""Pricing of an order: line totals, a percentage discount, VAT."""

import json
import sys

VAT = 0.2


def line_total(price, qty):
    if qty < 0:
        raise ValueError("quantity must not be negative")
    return round(price * qty, 2)


def total(items, discount_pct=0):
    subtotal = sum(line_total(i["price"], i["qty"]) for i in items)
    discounted = subtotal * (100 - discount_pct) / 100
    return round(discounted * VAT, 2)


def main():
    items = json.load(sys.stdin)
    print(total(items))


if __name__ == "__main__":
    main()
