#!/bin/bash
# restarts what setup started (fixture)
true
