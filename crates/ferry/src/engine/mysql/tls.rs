//! TLS to MariaDB/MySQL, with the client's `ssl-mode` meanings (libpq's
//! `sslmode` names are taken too): `DISABLED` (and a URL that names no
//! mode) connects in plain text; `PREFERRED` encrypts when the server can,
//! without checking its certificate; `REQUIRED` encrypts or fails, without
//! checking; `VERIFY_CA` checks that a trusted CA signed the certificate;
//! `VERIFY_IDENTITY` also checks the host name. `ssl-ca=PATH` (or
//! `sslrootcert=PATH`) names the CA (PEM).

/// What the URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Plain text.
    Disabled,
    /// Encrypt if the server can, unchecked; else plain text.
    Preferred,
    /// Encrypt, unchecked.
    Required,
    /// Encrypt, check the CA.
    VerifyCa,
    /// Encrypt, check the CA and the host name.
    VerifyIdentity,
}

/// The URL without `ssl-mode`/`sslmode` and `ssl-ca`/`sslrootcert` (the
/// driver knows neither), the mode, and the CA file.
pub(crate) fn split(url: &str) -> Result<(String, Mode, Option<String>), String> {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return Ok((url.to_owned(), Mode::Disabled, None));
    };
    let mut mode = None;
    let mut ca = None;
    let mut kept = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match k.to_ascii_lowercase().replace('_', "-").as_str() {
            "ssl-mode" | "sslmode" => {
                mode = Some(match v.to_ascii_lowercase().replace('_', "-").as_str() {
                    "disabled" | "disable" => Mode::Disabled,
                    "preferred" | "prefer" | "allow" => Mode::Preferred,
                    "required" | "require" => Mode::Required,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-identity" | "verify-full" => Mode::VerifyIdentity,
                    other => {
                        return Err(format!(
                            "ssl-mode={other} is not a mode; write DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"
                        ));
                    }
                })
            }
            "ssl-ca" | "sslrootcert" => ca = Some(v.into_owned()),
            _ => kept.push((k.into_owned(), v.into_owned())),
        }
    }
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    // A CA named without a mode means checking against it.
    let mode = mode.unwrap_or(if ca.is_some() {
        Mode::VerifyIdentity
    } else {
        Mode::Disabled
    });
    Ok((parsed.to_string(), mode, ca))
}

/// The mariadb client tools' arguments for `mode` (mariadb-dump, mariadb:
/// the backups and restores): `--ssl`, `--ssl-ca`, and
/// `--ssl-verify-server-cert` for VERIFY_IDENTITY (the client checks the
/// CA and the host name together; VERIFY_CA is passed as encryption with
/// the CA named).
pub(crate) fn client_args(mode: Mode, ca: Option<&str>) -> Vec<String> {
    let mut args = match mode {
        Mode::Disabled => return vec!["--skip-ssl".into()],
        Mode::Preferred | Mode::Required | Mode::VerifyCa => vec!["--ssl".to_owned()],
        Mode::VerifyIdentity => vec!["--ssl".to_owned(), "--ssl-verify-server-cert".to_owned()],
    };
    if let Some(ca) = ca.filter(|_| matches!(mode, Mode::VerifyCa | Mode::VerifyIdentity)) {
        args.push(format!("--ssl-ca={ca}"));
    }
    args
}

/// The driver's TLS options for `mode`, none for plain text.
#[cfg(feature = "mysql")]
pub(crate) fn options(mode: Mode, ca: Option<&str>) -> Option<mysql::SslOpts> {
    use mysql::SslOpts;
    let with_ca = |o: SslOpts| match ca {
        Some(path) => o.with_root_cert_path(Some(std::path::PathBuf::from(path))),
        None => o,
    };
    match mode {
        Mode::Disabled => None,
        Mode::Preferred | Mode::Required => Some(
            SslOpts::default()
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
        ),
        Mode::VerifyCa => Some(with_ca(SslOpts::default()).with_danger_skip_domain_validation(true)),
        Mode::VerifyIdentity => Some(with_ca(SslOpts::default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_read_and_taken_out_of_the_url() {
        let (url, mode, ca) =
            split("mysql://u:p@db/app?ssl-mode=VERIFY_CA&ssl-ca=/ca.pem&prefer_socket=false").unwrap();
        assert_eq!(
            (url.as_str(), mode, ca.as_deref()),
            (
                "mysql://u:p@db/app?prefer_socket=false",
                Mode::VerifyCa,
                Some("/ca.pem")
            )
        );
        assert_eq!(split("mysql://db/app?sslmode=require").unwrap().1, Mode::Required);
        assert_eq!(
            split("mysql://db/app").unwrap(),
            ("mysql://db/app".to_owned(), Mode::Disabled, None)
        );
        assert!(
            split("mysql://db/app?ssl-mode=sometimes")
                .unwrap_err()
                .contains("VERIFY_IDENTITY")
        );
    }
}
