#!/usr/bin/env bash
# check_doc_refs.sh: the reference test (ctest doc_refs). Every document that a file of the
# repository names must be in the repository, and every section it cites must exist: a
# "docs/NAME.md" or "NAME.md" reference must resolve to a file, every "§x.y" or "§9 item n"
# must be a heading or a numbered item of docs/METHOD.md, and the retired leadership spec
# may not be cited at all. It only reads files; it does not build or run anything.
#
# Usage: check_doc_refs.sh [SOURCE_DIR]   (default: the current folder)
# Prints "file:line: problem" for each failure and exits 1 if there is any. This script itself
# is not scanned, since it spells out the patterns.
set -u
export LC_ALL=C # byte-wise matching: "§" and "–" are plain byte sequences
root=$(cd "${1:-.}" && pwd -P) || exit 2
cd "$root" || exit 2
method=docs/METHOD.md

# ---- the files to check: tracked and new files (not ignored), or every file without git ----
files=()
if git -C "$root" rev-parse --show-toplevel >/dev/null 2>&1 &&
    [ "$(git -C "$root" rev-parse --show-toplevel)" = "$root" ]; then
    while IFS= read -r -d '' f; do [ -f "$f" ] && files+=("$f"); done \
        < <(git ls-files -z --cached --others --exclude-standard)
else
    while IFS= read -r -d '' f; do files+=("${f#./}"); done \
        < <(find . \( -name .git -o -name 'build*' -o -name out -o -name runs \) -prune -o -type f -print0)
fi
self=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/$(basename -- "${BASH_SOURCE[0]}")
for i in "${!files[@]}"; do # this script describes the patterns it looks for
    [ "$root/${files[$i]}" = "$self" ] && unset 'files[i]'
done
files=("${files[@]}")
[ ${#files[@]} -gt 0 ] || { echo "doc_refs: no files found under $root" >&2; exit 2; }

fails=0
fail() { echo "$1: $2"; fails=$((fails + 1)); }

# ---- the sections of METHOD.md: "## 0. Title", "### 1.3b Title"; items: "n. " lines of §9 ----
declare -A section=() item=()
if [ ! -f "$method" ]; then
    fail "$method" "missing: every § citation refers to it"
else
    while read -r kind num; do
        if [ "$kind" = s ]; then section[$num]=1; else item[$num]=1; fi
    done < <(awk '
        /^```/ { fence = !fence; next }
        fence { next }
        /^##+ [0-9]/ {
            n = $2; sub(/\.$/, "", n)
            if (n ~ /^[0-9]+(\.[0-9]+[a-z]?)?$/) { print "s", n; cur = n }
            next
        }
        /^#/ { cur = ""; next }
        cur == "9" && /^[0-9]+\. / { n = $1; sub(/\.$/, "", n); print "i", "9." n }
    ' "$method")
fi

# ---- 1. the retired spec may not be cited in any form ----------------------------------------
while IFS= read -r hit; do
    fail "${hit%%:*}:$(cut -d: -f2 <<<"$hit")" \
        "cites the retired leadership spec, which is not in the repository; cite $method §x.y instead"
done < <(grep -HnIE '(^|[^A-Za-z0-9_])[S]PEC([^A-Za-z0-9_]|$)|[Ss][Pp][Ee][Cc]\.md' -- "${files[@]}")

# ---- 2. document names: NAME.md in capitals anywhere, and any docs/NAME.md ---------------------
resolve() { # file token -> 0 if the document exists
    local file=$1 tok=${2#./} dir
    dir=$(dirname -- "$file")
    case "$tok" in */shared/* | shared/*) return 1 ;; esac # outside the repository, even if present
    local c
    for c in "$dir/$tok" "$tok" "docs/$tok"; do
        [ -f "$c" ] || continue
        c=$(cd "$(dirname -- "$c")" && pwd -P) || continue
        case "$c/" in "$root"/*) return 0 ;; esac # inside the repository
    done
    return 1
}
ndoc=0
while IFS= read -r hit; do
    file=${hit%%:*} rest=${hit#*:}
    line=${rest%%:*} tok=${rest#*:}
    case "$tok" in *'$'* | *'{'* | *'}'*) continue ;; esac # a name built from a variable
    ndoc=$((ndoc + 1))
    resolve "$file" "$tok" || fail "$file:$line" "names $tok, which is not a file of the repository"
done < <(grep -HnoIE '[${}A-Za-z0-9_./-]*([A-Z][A-Z0-9_]*|docs/[A-Za-z0-9_-]+)\.md' -- "${files[@]}")

# ---- 3. § citations: every one names a section or a §9 item of METHOD.md -----------------------
nsec=0
while IFS= read -r hit; do
    file=${hit%%:*} rest=${hit#*:}
    line=${rest%%:*} tok=${rest#*:}
    nsec=$((nsec + 1))
    tok=${tok#§}
    if [[ "$tok" =~ ^([0-9]+(\.[0-9]+[a-z]?)?)( items?[[:space:]]+([0-9]+)((-|–)([0-9]+))?)?$ ]]; then
        sec=${BASH_REMATCH[1]} first=${BASH_REMATCH[4]} last=${BASH_REMATCH[7]:-${BASH_REMATCH[4]}}
        if [ -z "${section[$sec]:-}" ]; then
            hint=
            [[ "$sec" == 9.* ]] && hint=" (an item of §9 is cited as §9 item ${sec#9.})"
            fail "$file:$line" "cites §$sec, which is not a section of $method$hint"
        elif [ -n "$first" ]; then
            for ((n = first; n <= last && n - first < 100; n++)); do
                [ -n "${item[$sec.$n]:-}" ] || fail "$file:$line" "cites §$sec item $n, which $method does not have"
            done
        fi
    else
        fail "$file:$line" "a § citation must be §N, §N.M or §9 item n (got '§$tok')"
    fi
done < <(grep -HnoIE '§([0-9]+(\.[0-9]+[a-z]?)?( items?[[:space:]]+[0-9]+((-|–)[0-9]+)?)?)?' -- "${files[@]}")

if [ $fails -gt 0 ]; then
    echo "doc_refs: $fails broken reference(s) in ${#files[@]} files"
    exit 1
fi
echo "doc_refs: ${#files[@]} files, $ndoc document names and $nsec § citations, all resolve" \
    "(${#section[@]} sections and ${#item[@]} items in $method)"
