#!/usr/bin/env bash
# The soak test (tests/soak.rs): 4 engine processes, 10,000 workspaces with cron
# schedules in six zones, simulated days on a shared scaled clock, random SIGKILLs and
# connection kills; fails unless every occurrence was acted on exactly once.
#
#   scripts/soak.sh                                  # 2 simulated days at 720x: ~5 min
#   SOAK_DAYS=7 SOAK_SPEED=1440 scripts/soak.sh      # longer
#   SOAK_WORKSPACES=1000 SOAK_ENGINES=2 scripts/soak.sh
#
# Uses DATABASE_URL, or the local server scripts/postgres.sh starts.
set -euo pipefail
cd "$(dirname "$0")/.."
DATABASE_URL="$(scripts/postgres.sh)"
export DATABASE_URL WL_REQUIRE_POSTGRES=1
echo "soak against ${DATABASE_URL#*@}"
exec cargo test --all-features --test soak -- --ignored --nocapture
