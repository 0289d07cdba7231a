#!/bin/bash
# Wrong: adds read permission but forgets that directories need x to be
# traversed (and leaves the web root owned by root).
chmod -R a+r /srv/shop
