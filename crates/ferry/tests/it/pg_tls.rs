//! TLS to PostgreSQL with libpq's sslmode meanings, against this machine's
//! server, whose certificate is self-signed for `localhost`
//! (/etc/ssl/certs/ssl-cert-snakeoil.pem).

use std::path::Path;

use ferry::{DatabaseUrl, Error, MigrateOptions, Migrator, Settings};
use ferry_testkit::{Kind, TestDb};

use crate::support::{basic, set};

const CA: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn connect(url: &str) -> Result<Migrator, Error> {
    Migrator::connect(&DatabaseUrl::parse(url, Path::new(".")).unwrap(), Settings::default())
}

fn encrypted(m: &mut Migrator) -> bool {
    let rows = m
        .engine()
        .query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .unwrap();
    rows[0][0].as_deref() == Some("t")
}

#[test]
fn sslmodes_encrypt_and_check_as_libpq_does() {
    let db = TestDb::new(Kind::Postgres);
    let on = |query: &str| format!("{}?{query}", db.url);
    let localhost = |query: &str| format!("{}?{query}", db.url.replace("127.0.0.1", "localhost"));

    assert!(!encrypted(&mut connect(&db.url).unwrap()), "no sslmode: plain text");
    assert!(!encrypted(&mut connect(&on("sslmode=disable")).unwrap()));
    assert!(
        encrypted(&mut connect(&on("sslmode=require")).unwrap()),
        "require encrypts without checking"
    );
    assert!(encrypted(&mut connect(&on("sslmode=prefer")).unwrap()));

    // verify-full: a certificate the named CA did not sign is refused...
    let other_ca = std::fs::read_dir("/etc/ssl/certs")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "pem") && !p.to_string_lossy().contains("snakeoil"))
        .expect("a CA certificate in /etc/ssl/certs (package ca-certificates)");
    let err = connect(&localhost(&format!(
        "sslmode=verify-full&sslrootcert={}",
        other_ca.display()
    )))
    .unwrap_err()
    .to_string();
    assert!(err.contains("sslrootcert"), "{err}");
    // ...naming its CA works for the name on it...
    assert!(encrypted(
        &mut connect(&localhost(&format!("sslmode=verify-full&sslrootcert={CA}"))).unwrap()
    ));
    // ...but not for another host name, which verify-ca does not check.
    assert!(connect(&on(&format!("sslmode=verify-full&sslrootcert={CA}"))).is_err());
    assert!(encrypted(
        &mut connect(&on(&format!("sslmode=verify-ca&sslrootcert={CA}"))).unwrap()
    ));
    assert!(
        connect(&on("sslmode=sometimes"))
            .unwrap_err()
            .to_string()
            .contains("verify-full")
    );
    assert!(
        connect(&on("sslmode=verify-ca&sslrootcert=/no/such/ca.pem"))
            .unwrap_err()
            .to_string()
            .contains("/no/such/ca.pem")
    );
}

#[test]
fn migrations_and_the_lock_work_over_tls() {
    let db = TestDb::new(Kind::Postgres);
    let mut m = connect(&format!("{}?sslmode=require", db.url)).unwrap();
    let files = basic();
    let report = m.migrate(&set(&files), MigrateOptions::default(), &mut ()).unwrap();
    assert_eq!(report.steps.len(), 3);
    assert_eq!(db.tables(), vec!["a", "b", "ferry_history"]);
}
