#!/bin/bash
no_such_helper --check
