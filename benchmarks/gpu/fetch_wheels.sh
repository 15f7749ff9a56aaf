#!/usr/bin/env bash
# Download, into .whl/ (ignored by git), the wheels that the device tool's GPU machine lacks
# for specfm: astropy, specutils and what they need, for its Python 3.12 on x86-64, at the
# versions installed here. Its image already holds torch, numpy, scipy, matplotlib, h5py,
# tqdm, safetensors and PyYAML. Run from the repository root, before benchmarks/gpu/check.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
packages="astropy pyerfa astropy-iers-data specutils gwcs ndcube asdf asdf-astropy
asdf-standard asdf-transform-schemas asdf-coordinates-schemas asdf-wcs-schemas jmespath
semantic-version typing-extensions packaging"
built="dust-extinction"  # published as source only: built into a wheel here (pure Python)
pins=()
for name in $packages; do
    version=$(python -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')
    if [ -z "$version" ]; then
        echo "fetch_wheels.sh: $name is not installed here; install specfm first" >&2
        exit 1
    fi
    pins+=("$name==$version")
done
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d .whl "${pins[@]}"
for name in $built; do
    version=$(python -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')
    python -m pip wheel -q --no-deps -w .whl "$name==$version"
done
ls -l .whl
du -sh .whl
