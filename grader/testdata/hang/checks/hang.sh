#!/bin/bash
sleep 100
