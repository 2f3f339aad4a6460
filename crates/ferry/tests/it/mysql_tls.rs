//! TLS to MariaDB with the client's ssl-mode meanings, against a second
//! MariaDB server of this machine with TLS turned on (port 3307, its
//! certificate signed by a CA of its own for `localhost`; `.ci/run` makes
//! both and starts it).

use std::path::Path;

use ferry::{DatabaseUrl, Error, MigrateOptions, Migrator, Settings};

use crate::support::{basic, set};

fn server() -> String {
    std::env::var("FERRY_TEST_MYSQL_TLS_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3307".into())
}

fn ca() -> String {
    std::env::var("FERRY_TEST_MYSQL_TLS_CA").unwrap_or_else(|_| "/var/tmp/ferry-mariadb-tls/certs/ca.pem".into())
}

fn connect(url: &str) -> Result<Migrator, Error> {
    Migrator::connect(&DatabaseUrl::parse(url, Path::new(".")).unwrap(), Settings::default())
}

fn encrypted(m: &mut Migrator) -> bool {
    let rows = m.engine().query("SHOW SESSION STATUS LIKE 'Ssl_cipher'").unwrap();
    rows.first()
        .and_then(|r| r.get(1).cloned().flatten())
        .is_some_and(|c| !c.is_empty())
}

#[test]
fn ssl_modes_encrypt_and_check_as_the_client_does() {
    let name = format!("ferry_tls_{}", std::process::id());
    let mut admin = connect(&format!("{}/mysql", server())).unwrap_or_else(|e| {
        panic!(
            "the TLS MariaDB server is unreachable at {} ({e}); start it (see .ci/run)",
            server()
        )
    });
    admin
        .engine()
        .execute(&format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}"))
        .unwrap();
    let on = |query: &str| format!("{}/{name}?{query}", server());
    let localhost = |query: &str| format!("{}/{name}?{query}", server().replace("127.0.0.1", "localhost"));
    let ca = ca();

    assert!(
        !encrypted(&mut connect(&format!("{}/{name}", server())).unwrap()),
        "no mode: plain text"
    );
    assert!(!encrypted(&mut connect(&on("ssl-mode=DISABLED")).unwrap()));
    assert!(
        encrypted(&mut connect(&on("ssl-mode=REQUIRED")).unwrap()),
        "REQUIRED encrypts without checking"
    );
    assert!(encrypted(&mut connect(&on("sslmode=prefer")).unwrap()));
    // VERIFY_IDENTITY: the CA that signed it, for the name on it.
    assert!(encrypted(
        &mut connect(&localhost(&format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"))).unwrap()
    ));
    // Not for another host name, which VERIFY_CA does not check...
    assert!(connect(&on(&format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"))).is_err());
    assert!(encrypted(
        &mut connect(&on(&format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"))).unwrap()
    ));
    // ...and not with a CA that did not sign it.
    let other_ca = std::fs::read_dir("/etc/ssl/certs")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "pem") && !p.to_string_lossy().contains("snakeoil"))
        .expect("a CA certificate in /etc/ssl/certs (package ca-certificates)");
    assert!(
        connect(&localhost(&format!(
            "ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
            other_ca.display()
        )))
        .is_err()
    );
    let err = connect(&on("ssl-mode=sometimes")).unwrap_err().to_string();
    assert!(err.contains("VERIFY_IDENTITY"), "{err}");

    // Migrations forward and back over TLS.
    let mut m = connect(&localhost(&format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"))).unwrap();
    let s = set(&basic());
    let report = m.migrate(&s, MigrateOptions::default(), &mut ()).unwrap();
    assert!(!report.steps.is_empty());
    m.revert(&s, ferry::RevertTarget::To(0), &mut ()).unwrap();
    assert!(m.status(&s).unwrap().migrations.iter().all(|x| x.applied_at.is_none()));
    admin.engine().execute(&format!("DROP DATABASE {name}")).unwrap();
}
