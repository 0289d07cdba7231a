"""Stock levels: receive and ship items, never below zero."""

import json
import sys


def receive(stock, sku, qty):
    stock = dict(stock)
    stock[sku] = stock.get(sku, 0) + qty
    return stock


def ship(stock, sku, qty):
    have = stock.get(sku, 0)
    if qty > have:
        raise ValueError(f"only {have} of {sku} in stock")
    stock = dict(stock)
    stock[sku] = have - qty
    return stock


def main():
    print(json.dumps(receive({}, sys.argv[1], int(sys.argv[2]))))


if __name__ == "__main__":
    main()
