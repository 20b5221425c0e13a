#!/usr/bin/env bash
# Provisions Docker Engine 26.1 (Debian trixie's docker.io and containerd) beside bookworm's
# Engine 20.10, never over it: apt is pointed at trixie through a private source file and list
# directory, the two .debs are downloaded (not installed) and unpacked with dpkg -x into ROOT.
# The lab runs ROOT/usr/sbin/dockerd with ROOT/usr/bin first on PATH (its containerd and
# shims) and bookworm's runc from /usr/sbin (trixie's runc needs a newer glibc than bookworm's).
#
#   sudo hack/engine-26.1.sh            # idempotent; a second run returns at once
#   ROOT=/elsewhere hack/engine-26.1.sh
#
# Needs root and bookworm's apt sources (the trixie mirror is derived from them).
set -Eeuo pipefail

ROOT=${ROOT:-/opt/swarmtopo-engine-26.1}
WANT=26.1.
stamp=$ROOT/.swarmtopo-engine

die() {
	echo "engine-26.1: $*" >&2
	exit 1
}

if [ -f "$stamp" ] && [ -x "$ROOT/usr/sbin/dockerd" ] && [ -x "$ROOT/usr/bin/containerd" ]; then
	cat "$stamp"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, $ROOT)"
command -v runc >/dev/null || die "bookworm's runc not found (apt-get install docker.io)"

# The mirror bookworm's main suite comes from, in deb822 (*.sources) or one-line (*.list) form.
mirror=""
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	mirror=$(awk '
		/^[[:space:]]*$/ { if (suite && uri) { print uri; exit } suite = 0; uri = "" }
		/^URIs:/ { uri = $2 }
		/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") suite = 1 }
		END { if (suite && uri) print uri }' "$f" | head -n 1)
	[ -n "$mirror" ] && break
done
if [ -z "$mirror" ]; then
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/ && $(i + 1) == "bookworm") { print $i; exit } }')
fi
[ -n "$mirror" ] || die "no apt source for bookworm in /etc/apt/sources.list{,.d/*} to derive trixie's from"
[ -f "$keyring" ] || die "$keyring missing (apt-get install debian-archive-keyring)"

work=$(mktemp -d /tmp/swarmtopo-engine-26.1.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work" # apt's _apt user writes the downloads
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
cat >"$work/trixie.sources" <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: $keyring
SRC
apt_opts=(
	-q
	-o "Dir::Etc::SourceList=$work/trixie.sources"
	-o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$work/lists"
	-o "Dir::Cache=$work/cache"
	-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
)
echo "engine-26.1: trixie from $mirror"
apt-get "${apt_opts[@]}" update
(cd "$work/debs" && chown _apt "$work/debs" 2>/dev/null; apt-get "${apt_opts[@]}" download docker.io containerd)

rm -rf "$ROOT.new"
mkdir -p "$ROOT.new"
for deb in "$work"/debs/*.deb; do
	dpkg -x "$deb" "$ROOT.new"
done
version=$("$ROOT.new/usr/sbin/dockerd" --version)
case "$version" in
*" $WANT"*) ;;
*) die "trixie's dockerd says \"$version\", want $WANT*" ;;
esac
"$ROOT.new/usr/bin/containerd" --version >/dev/null
{
	echo "$version"
	"$ROOT.new/usr/bin/containerd" --version
	echo "runc: $(command -v runc) ($(runc --version | head -n 1))"
} >"$ROOT.new/.swarmtopo-engine"
rm -rf "$ROOT"
mv "$ROOT.new" "$ROOT"
cat "$stamp"
