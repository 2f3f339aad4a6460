#!/usr/bin/env bash
# Starts a second MariaDB server with TLS turned on, on 127.0.0.1:3307, for
# the tests of ssl-mode (crates/ferry/tests/it/mysql_tls.rs): its own data
# folder, and a certificate for `localhost` signed by a CA made here. The
# machine's main server (port 3306) is not touched.
set -euo pipefail
dir=${1:-/var/tmp/ferry-mariadb-tls}
mkdir -p "$dir/certs"
if ! command -v openssl >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null
fi
cd "$dir/certs"
if [ ! -s server.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ferry test CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost\n' > ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile ext.cnf -out server.pem 2>/dev/null
fi
chmod 0644 ca.pem server.pem
chmod 0640 server.key ca.key
chown -R mysql:mysql "$dir"
if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --user=mysql --datadir="$dir/data" --auth-root-authentication-method=normal >"$dir/install.log" 2>&1
fi
setsid nohup /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$dir/data" \
    --port=3307 --bind-address=127.0.0.1 --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
    --ssl-ca="$dir/certs/ca.pem" --ssl-cert="$dir/certs/server.pem" --ssl-key="$dir/certs/server.key" \
    --log-error="$dir/error.log" >/dev/null 2>&1 &
