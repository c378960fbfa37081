#!/usr/bin/env bash
# Regenerates the rpm database fixtures from the specs in specs/:
#   rpmdb.sqlite  the database rpm 4.16+ writes (RHEL 9, Fedora 33+),
#   Packages      a Berkeley DB hash database (RHEL 7/8, CentOS) holding the
#                 same package headers, made with db_load because Debian's rpm
#                 no longer writes Berkeley DB.
# Needs the Debian packages rpm, db5.3-util and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for spec in "$here"/specs/*.spec; do
	rpmbuild --quiet --define "_topdir $work/top" --define "_build_id_links none" -bb "$spec" >/dev/null
done
root="$work/root"
mkdir -p "$root"
rpm --define "_db_backend sqlite" --define "_dbpath /var/lib/rpm" --root "$root" --initdb
rpm --define "_db_backend sqlite" --define "_dbpath /var/lib/rpm" --root "$root" \
	-i --nodeps --justdb "$work"/top/RPMS/noarch/*.rpm 2>/dev/null
db="$root/var/lib/rpm/rpmdb.sqlite"

python3 - "$db" "$work/packages.txt" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.execute("PRAGMA journal_mode=DELETE")
con.execute("VACUUM")
with open(sys.argv[2], "w") as out:
    for hnum, blob in con.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"):
        key = hnum.to_bytes(4, "little")
        out.write("".join("\\%02x" % b for b in key) + "\n")
        out.write("".join("\\%02x" % b for b in blob) + "\n")
con.close()
PY
cp "$db" "$here/rpmdb.sqlite"
rm -f "$here/Packages"
db5.3_load -T -t hash -f "$work/packages.txt" "$here/Packages"
rpm --define "_dbpath /var/lib/rpm" --root "$root" -qa \
	--qf '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\n' | sort >"$here/packages.tsv"
