#!/bin/bash
# Wrong: the site is served again, and anyone (nginx included) can deface it.
chmod -R 0777 /srv/shop
