#!/usr/bin/env bash
# test_op_storm.sh with silent stalls instead of cuts, and nbfs-server
# killed twice mid-run (see there).
FAULT=stall exec bash "$(dirname "$0")/test_op_storm.sh"
