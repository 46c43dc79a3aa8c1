#!/usr/bin/env bash
# The repository speaks for itself: a newcomer who clones it must be able to
# follow every reference in it.
#
# 1. No tracked file cites a document that is not in the repository: the
#    word SPEC ("SPEC §3", "SPEC's defaults"), SPEC.md, "the spec" or
#    "spec's". Facts belong in README.md and docs/; cite those instead.
# 2. Every relative link in README.md and docs/*.md ([text](path),
#    ![alt](path), [ref]: path) points at a file or directory that is in the
#    repository (tracked by git, when this is a git checkout), and an anchor
#    (path.md#heading, #heading) names a heading of that markdown file, as
#    GitHub makes anchors of headings. Web links (scheme:...) are not
#    checked. Links inside code (fenced blocks, `inline code`) are not links
#    and are skipped.
#
# Needs no root and no build. Exit 0 pass, 1 fail with the offending lines.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
self=tests/docs_selfcontained.sh
fail=0

# Files of the repository: tracked files in a git checkout (a build tree or
# an untracked scratch file is not part of what a clone gets), else every
# file outside .git and build directories (e.g. a release tarball).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -d '' files < <(git ls-files -z)
	in_git=1
else
	mapfile -d '' files < <(find . -path ./.git -prune -o -path './build*' -prune \
		-o -type f -printf '%P\0')
	in_git=0
fi
if [ ${#files[@]} -eq 0 ]; then
	echo "docs_selfcontained: FAIL: no files found in $(pwd)" >&2
	exit 1
fi

# ---- 1. references to a document outside the repository -------------------

cites=()
for f in "${files[@]}"; do
	[ "$f" = "$self" ] && continue
	[ -f "$f" ] || continue # tracked but deleted in the work tree
	# -I: binary files (images) are skipped. "SPEC" as a word, case-sensitive
	# (so identifiers like SPECIAL or BV_SPEC do not match); the other forms
	# in any case.
	while IFS= read -r line; do
		cites+=("$f:$line")
	done < <({
		grep -InwE 'SPEC' -- "$f"
		grep -IniE "SPEC\.md|\bthe spec\b|\bspec's\b" -- "$f"
	} | sort -t: -k1,1n -u)
done
if [ ${#cites[@]} -gt 0 ]; then
	echo "docs_selfcontained: FAIL: ${#cites[@]} reference(s) to a spec that is not in the repository" \
		"(state the fact, or cite README.md / docs/ instead):" >&2
	printf '  %s\n' "${cites[@]}" >&2
	fail=1
fi

# ---- 2. relative links in README.md and docs/*.md ---------------------------

# A path is in the repository when it is one of its files, or a directory
# holding one.
declare -A have
for f in "${files[@]}"; do
	have[$f]=1
	d=$f
	while [[ $d == */* ]]; do
		d=${d%/*}
		have[$d]=1
	done
done

# Normalise a path relative to the repository root: drop "." and resolve
# "..". Prints nothing if it leaves the repository.
norm() {
	local IFS=/ part out=()
	for part in $1; do
		case $part in
		'' | .) ;;
		..)
			[ ${#out[@]} -eq 0 ] && return 1
			unset 'out[${#out[@]}-1]'
			;;
		*) out+=("$part") ;;
		esac
	done
	printf '%s' "${out[*]}"
}

# Prints "LINE<TAB>TARGET" for every link of a markdown file, outside fenced
# code blocks and inline code spans.
links() {
	awk '
	/^[ \t]*(```|~~~)/ { fence = !fence; next }
	fence { next }
	{
		s = $0
		gsub(/`[^`]*`/, "", s)          # inline code is not a link
		# reference definitions: [ref]: target
		if (match(s, /^[ \t]*\[[^]]+\]:[ \t]*[^ \t]+/)) {
			t = substr(s, RSTART, RLENGTH)
			sub(/^[ \t]*\[[^]]+\]:[ \t]*/, "", t)
			gsub(/^<|>$/, "", t)
			print NR "\t" t
		}
		# inline links and images: [text](target "title")
		while (match(s, /\]\([^)]*\)/)) {
			t = substr(s, RSTART + 2, RLENGTH - 3)
			s = substr(s, RSTART + RLENGTH)
			sub(/^[ \t]+/, "", t)
			sub(/[ \t].*$/, "", t)   # a title after the target
			gsub(/^<|>$/, "", t)
			print NR "\t" t
		}
	}' "$1"
}

# The anchors GitHub gives the headings of a markdown file, one a line:
# lower case, everything but letters, digits, '_', '-' and spaces removed,
# spaces turned into '-'; a repeated anchor gets -1, -2, ...
anchors() {
	perl -CSD -ne '
		if (/^\s*(```|~~~)/) { $fence = !$fence; next }
		next if $fence or !/^#{1,6}\s+(.*?)\s*#*\s*$/;
		my $a = lc $1;
		$a =~ s/[^\p{L}\p{M}\p{N}_\- ]//g;
		$a =~ s/ /-/g;
		print $seen{$a}++ ? "$a-" . ($seen{$a} - 1) : $a, "\n";
	' "$1"
}
declare -A anchor_of
has_anchor() { # FILE ANCHOR
	if [ -z "${anchor_of[$1]+x}" ]; then
		anchor_of[$1]=$'\n'$(anchors "$1")$'\n'
	fi
	[[ ${anchor_of[$1]} == *$'\n'"$2"$'\n'* ]]
}

broken=()
nlinks=0
mds=()
for f in "${files[@]}"; do
	case $f in
	README.md | docs/*.md) [ -f "$f" ] && mds+=("$f") ;;
	esac
done
for md in "${mds[@]}"; do
	dir=$(dirname "$md")
	while IFS=$'\t' read -r ln target; do
		case $target in
		'' | *:*) continue ;; # a URL (scheme:)
		esac
		nlinks=$((nlinks + 1))
		path=${target%%#*}
		path=${path%%\?*}
		frag=
		[[ $target == *#* ]] && frag=${target#*#}
		outside=0
		if [ -z "$path" ]; then
			p=$md # #anchor of the same page
		elif [[ $path == /* ]]; then
			p=$(norm "$path") || outside=1
		else
			p=$(norm "$dir/$path") || outside=1
		fi
		if [ "$outside" -ne 0 ]; then
			broken+=("$md:$ln: $target (outside the repository)")
		elif [ -z "$p" ]; then
			: # the repository root itself
		elif [ "$in_git" = 1 ] && [ -z "${have[$p]:-}" ]; then
			if [ -e "$p" ]; then
				broken+=("$md:$ln: $target (exists here but is not tracked by git)")
			else
				broken+=("$md:$ln: $target (no such file)")
			fi
		elif [ "$in_git" = 0 ] && [ ! -e "$p" ]; then
			broken+=("$md:$ln: $target (no such file)")
		elif [ -n "$frag" ] && [[ $p == *.md ]] && [ -f "$p" ] && ! has_anchor "$p" "$frag"; then
			broken+=("$md:$ln: $target (no heading with anchor #$frag in $p)")
		fi
	done < <(links "$md")
done
if [ ${#broken[@]} -gt 0 ]; then
	echo "docs_selfcontained: FAIL: ${#broken[@]} relative link(s) to a file or heading not in the repository:" >&2
	printf '  %s\n' "${broken[@]}" >&2
	fail=1
fi

if [ "$fail" -eq 0 ]; then
	echo "docs_selfcontained: ok: ${#files[@]} files cite no outside spec;" \
		"$nlinks relative links (and their anchors) in ${#mds[@]} markdown files all resolve"
fi
exit "$fail"
