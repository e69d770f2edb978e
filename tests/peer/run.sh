#!/usr/bin/env bash
# The PyMC peer check of rlgrad's hierarchical NUTS fit (issue 12, part 5), one command:
#
#   bash tests/peer/run.sh [OUT_DIR]
#
# 1. simulates 100 subjects x 200 trials of RW + softmax with the rlgrad program (seed 7);
# 2. checks that the PyMC model's likelihood equals rlgrad's (at rlgrad's MAP, on this cohort and
#    on a ragged variant with sessions, states, a third action and missed trials);
# 3. samples the hierarchical posterior with rlgrad (`rlgrad sample`, 4 chains x 1000 draws after
#    1000 warm-up, seed 1);
# 4. samples it with PyMC's default NUTS (same settings, cores=2, seed 1);
# 5. compares posterior means and sds within 4 combined MCSE (tests/peer/compare.py) and prints
#    the wall-time ratio. Exit status non-zero if any step fails or the posteriors disagree.
#
# The Python environment is a venv outside the repository, created on first use from
# tests/peer/requirements.txt: $PEER_VENV, default /work/peer-venv (python3 with venv needed).
# Outputs go to OUT_DIR (default: a new temporary directory), named below.
# To reuse an earlier PyMC fit of the same cohort (it takes many minutes), set PYMC_DRAWS and
# PYMC_TIMING to its draws CSV and timing JSON.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PEER_VENV:-/work/peer-venv}"
out="${1:-$(mktemp -d -t rlgrad-peer.XXXXXX)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*"; }

step "Python environment: $venv"
if ! "$venv/bin/python" -c "import pymc, arviz, pandas" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
py="$venv/bin/python"
"$py" -c "import sys, pymc, pytensor, arviz, numpy, pandas; print('python', sys.version.split()[0], '| pymc', pymc.__version__, '| pytensor', pytensor.__version__, '| arviz', arviz.__version__, '| numpy', numpy.__version__, '| pandas', pandas.__version__)" 2>/dev/null

step "Build the rlgrad program"
cargo build --release --features cli --quiet

step "Simulate the cohort: $out/cohort.csv"
cargo run --release --features cli --quiet -- simulate --model rw --subjects 100 --trials 200 \
    --seed 7 --out "$out/cohort.csv" --truth "$out/truth.csv"

step "Same model on both sides: PyMC's likelihood against rlgrad's at rlgrad's MAP"
cargo run --release --features cli --quiet -- fit "$out/cohort.csv" --model rw \
    --out "$out/map_fits.csv" --quiet > "$out/map_fits.txt"
"$py" -W ignore "$here/check_likelihood.py" "$out/cohort.csv" "$out/map_fits.csv"
"$py" "$here/make_ragged.py" "$out/cohort.csv" "$out/ragged.csv"
cargo run --release --features cli --quiet -- fit "$out/ragged.csv" --model rw \
    --out "$out/ragged_map_fits.csv" --quiet > "$out/ragged_map_fits.txt"
"$py" -W ignore "$here/check_likelihood.py" "$out/ragged.csv" "$out/ragged_map_fits.csv"

step "rlgrad: hierarchical NUTS, 4 chains x 1000 draws after 1000 warm-up"
cargo run --release --features cli -- sample "$out/cohort.csv" --model rw --chains 4 --draws 1000 \
    --warmup 1000 --seed 1 --draws-out "$out/rlgrad_draws.csv" --timing-out "$out/rlgrad_time.json"

if [[ -n "${PYMC_DRAWS:-}" && -n "${PYMC_TIMING:-}" ]]; then
    step "PyMC: reusing $PYMC_DRAWS and $PYMC_TIMING"
    pymc_draws="$PYMC_DRAWS"
    pymc_timing="$PYMC_TIMING"
else
    step "PyMC: default NUTS, 4 chains x 1000 draws after 1000 tuning, cores=2 (many minutes)"
    pymc_draws="$out/pymc_draws.csv"
    pymc_timing="$out/pymc_time.json"
    # PyTensor warns that pip's install has no BLAS; the model's only matrix product is 100x2 by 2x2.
    "$py" -W ignore "$here/pymc_rw.py" "$out/cohort.csv" --chains 4 --draws 1000 --warmup 1000 \
        --cores 2 --seed 1 --draws-out "$pymc_draws" --timing-out "$pymc_timing"
fi

step "Compare: posterior means and sds within 4 combined MCSE"
"$py" "$here/compare.py" "$out/rlgrad_draws.csv" "$pymc_draws" --names rlgrad pymc \
    --timing "$out/rlgrad_time.json" "$pymc_timing" --table-out "$out/compare.csv"

echo
echo "outputs in $out"
