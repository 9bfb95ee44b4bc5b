#!/usr/bin/env bash
# A throwaway OpenLDAP directory for the tests (tests/tests/ldap.rs) and for
# trying directory logins by hand: a self-signed CA and server certificate,
# a slapd.conf, an mdb database in DIR loaded from tests/ldap/directory.ldif,
# then slapd in the foreground on loopback (the caller kills it).
#
#   scripts/slapd.sh DIR LDAP_PORT LDAPS_PORT
#
# DIR is made if needed; run again on the same DIR it keeps the database and
# certificates (a restart). Files: DIR/ca.pem (the CA to trust),
# DIR/wrong-ca.pem (an unrelated CA, to check refusal), DIR/service.password
# (the service account's password), DIR/slapd.conf, DIR/db/.
# Needs Debian's slapd, ldap-utils and openssl (scripts/test.sh installs them).
set -euo pipefail

dir=${1:?usage: slapd.sh DIR LDAP_PORT LDAPS_PORT}
ldap_port=${2:?LDAP_PORT}
ldaps_port=${3:?LDAPS_PORT}
here=$(cd "$(dirname "$0")" && pwd)
ldif=${SLAPD_LDIF:-$here/../tests/ldap/directory.ldif}
slapd=${SLAPD:-/usr/sbin/slapd}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Debian ships an AppArmor profile for /usr/sbin/slapd that allows only its
# own paths (/etc/ldap, /var/lib/ldap, ...), not a folder under /tmp. Where
# that profile is loaded, run a copy of the binary from DIR: profiles attach
# by path, so the copy runs unconfined (test use only).
if [ "$slapd" = /usr/sbin/slapd ] && grep -qs 'slapd' /sys/kernel/security/apparmor/profiles; then
  cp /usr/sbin/slapd "$dir/slapd.bin"
  slapd="$dir/slapd.bin"
fi

if [ ! -f "$dir/server.pem" ]; then
  # The CA, a server certificate for 127.0.0.1/localhost signed by it, and a
  # second CA that signed nothing here (a client trusting only it must refuse).
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Townhall test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Unrelated CA" \
    -keyout "$dir/wrong-ca.key" -out "$dir/wrong-ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
    >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
fi
printf 'service-password' >"$dir/service.password"

cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $dir/ca.pem
TLSCertificateFile $dir/server.pem
TLSCertificateKeyFile $dir/server.key

database mdb
maxsize 67108864
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw admin-secret
directory $dir/db
# Passwords: only a bind may use them. Everything else: the service
# account reads, a user reads their own entry, anonymous reads nothing.
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="cn=townhall,ou=services,dc=example,dc=org" read
  by self read
  by * none
CONF

if [ ! -d "$dir/db" ]; then
  mkdir -p "$dir/db"
  "$slapd" -T add -f "$dir/slapd.conf" -l "$ldif" -q
fi

# -d 0: stay in the foreground (the caller owns the process), log nothing.
exec "$slapd" -d 0 -f "$dir/slapd.conf" \
  -h "ldap://127.0.0.1:$ldap_port/ ldaps://127.0.0.1:$ldaps_port/"
