#!/usr/bin/env bash
# The central anchor with a wider 16x16 U-Net (small's two levels, 24 base channels, 64-wide
# embedding), two seeds, the recipe of 2026-11-22 (lr 2e-3, 200 warm-up, cosine to 0.1x, EMA).
cd "$(dirname "$0")/../../.."
for seed in 1 2 3; do
  npx tsx apps/cli/src/scripts/central-anchor.ts --size small --base-channels 24 --embed-dim 64 \
    --steps 8000 --samples 1000 --sample-steps 20,50 --seed $seed --json \
    >docs/results/anchor-2026-12-04/wide24-seed$seed.jsonl 2>docs/results/anchor-2026-12-04/wide24-seed$seed.log
done
