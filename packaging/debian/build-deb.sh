#!/bin/sh
# build-deb.sh - build billrun_VERSION_ARCH.deb from a staged tree with
# dpkg-deb (no debhelper, no source package): `make deb` runs it.
#   build-deb.sh VERSION BUILD
# BUILD is make's build folder (build/); the .deb is written there. The
# files come from `make install` and the source tree (the folder above
# packaging/). Prints the path of the .deb.
set -eu
version=$1 outdir=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
deb=$src/packaging/debian
arch=$(dpkg --print-architecture)

# The changelog's newest entry must be this version.
top=$(sed -n '1s/^billrun (\([^)]*\)).*/\1/p' "$deb/changelog")
if [ "$top" != "$version" ]; then
	echo "build-deb.sh: packaging/debian/changelog starts with version '$top', not '$version'" >&2
	echo "hint: add a changelog entry for $version" >&2
	exit 65
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
stage=$(mktemp -d "$outdir/deb-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
root=$stage/root
mkdir -p "$root/DEBIAN"

# Files: what `make install` installs (binary, config, SQL, man pages) ...
make -s -C "$src" install DESTDIR="$root" PREFIX=/usr BUILD="$outdir" >/dev/null
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/billrun"
# ... and the system integration.
install -d "$root/lib/systemd/system" "$root/etc/cron.d" "$root/etc/logrotate.d" "$root/usr/share/doc/billrun"
install -m 644 "$src"/packaging/systemd/*.service "$src"/packaging/systemd/*.timer "$root/lib/systemd/system/"
install -m 644 "$src/packaging/cron/billrun" "$root/etc/cron.d/billrun"
install -m 644 "$src/packaging/logrotate/billrun" "$root/etc/logrotate.d/billrun"
install -m 644 "$deb/copyright" "$root/usr/share/doc/billrun/copyright"
gzip -9n -c "$deb/changelog" >"$root/usr/share/doc/billrun/changelog.gz"
chmod 644 "$root/usr/share/doc/billrun/changelog.gz"
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +

# Control files.
for s in postinst prerm postrm; do
	install -m 755 "$deb/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"
chmod 644 "$root/DEBIAN/conffiles"
# Library dependencies as dpkg-shlibdeps finds them (it wants a
# debian/control to exist in the folder it runs in).
mkdir -p "$stage/debian"
printf 'Source: billrun\n\nPackage: billrun\nArchitecture: any\n' >"$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O "$root/usr/bin/billrun" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 70; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
	"$deb/control.in" >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort | xargs md5sum) \
	>"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

# Owned by root whoever builds; directories 755, files as installed.
find "$root" -type d -exec chmod 755 {} +
out=$outdir/billrun_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
