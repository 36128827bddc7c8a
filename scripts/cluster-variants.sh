#!/usr/bin/env bash
# NMI, ARI and purity of `vtx eval clusters` for each clustering space and whitening, the mean
# over seeds 1-5 (docs/performance.md, "Clusters that follow meaning").
# usage: scripts/cluster-variants.sh INDEX LABELS.tsv ["VARIANT,VARIANT,..."]
#   e.g. scripts/cluster-variants.sh I $VTX_CACHE/fixtures/emoji-devset/labels.tsv "visual,text --whiten 8"
set -euo pipefail
index=$1 labels=$2
IFS=, read -ra variants <<< "${3:-visual,text,visual+text,visual --whiten 2,visual --whiten 4,visual --whiten 8,visual --whiten 16,text --whiten 8,visual+text --whiten 8}"
vtx=${VTX:-vtx}
for variant in "${variants[@]}"; do
  # shellcheck disable=SC2086 # a variant is a space and its flags
  for seed in 1 2 3 4 5; do
    "$vtx" eval clusters --labels "$labels" --index "$index" --space $variant --seed "$seed" --json
  done | python3 -c "
import json, sys
runs = [json.loads(line) for line in sys.stdin]
mean = lambda key: sum(r[key] for r in runs) / len(runs)
print('%-32s NMI %.3f  ARI %.3f  purity %.3f' % (sys.argv[1], mean('nmi'), mean('ari'), mean('purity')))" "$variant"
done
