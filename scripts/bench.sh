#!/usr/bin/env bash
# `make bench`: placeholder until the benchmark issue lands.
echo "make bench: comes with the benchmark issue"
