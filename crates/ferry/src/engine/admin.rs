//! Databases themselves: telling that a URL names a database that does not
//! exist, and creating it (`ferry backup restore --create`).

use super::{ConnectOptions, DatabaseUrl, EngineKind};
use crate::error::{Error, Result};

/// True when `err` says the database the URL names does not exist.
pub fn is_missing_database(err: &Error) -> bool {
    match err {
        Error::Connect { message, .. } => {
            // PostgreSQL: 3D000 `database "x" does not exist`; MariaDB: 1049 `Unknown database`.
            (message.contains("database \"") && message.contains("does not exist"))
                || message.contains("ERROR 1049")
                || message.contains("Unknown database")
        }
        _ => false,
    }
}

/// Creates the database `url` names, on its server. A SQLite file is
/// created when it is first written, so there is nothing to do for one.
pub fn create_database(url: &DatabaseUrl) -> Result<()> {
    let (name, admin) = match url.kind() {
        EngineKind::Sqlite => return Ok(()),
        EngineKind::Postgres => server_url(url, "postgres")?,
        EngineKind::MySql => server_url(url, "mysql")?,
    };
    let mut engine = super::connect(&admin, &ConnectOptions::default())?;
    let sql = match url.kind() {
        EngineKind::Postgres => format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")),
        _ => format!("CREATE DATABASE IF NOT EXISTS `{}`", name.replace('`', "``")),
    };
    match engine.execute(&sql) {
        Ok(()) => Ok(()),
        Err(e) if e.message.contains("already exists") => Ok(()),
        Err(e) => Err(Error::db(format!("cannot create the database {name}"), e.message)),
    }
}

/// The database `url` names, and the same URL pointing at `admin_db` on the
/// same server.
pub(crate) fn server_url(url: &DatabaseUrl, admin_db: &str) -> Result<(String, DatabaseUrl)> {
    let mut u = url::Url::parse(url.expose_secret()).map_err(|e| Error::db("the database URL", e))?;
    let name = percent_encoding::percent_decode_str(u.path().trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned();
    if name.is_empty() {
        return Err(Error::refusal(
            format!("{} names no database to create", url.safe()),
            "add the database's name to the URL's path",
        ));
    }
    u.set_path(&format!("/{admin_db}"));
    let admin = DatabaseUrl::parse(u.as_str(), std::path::Path::new("."))
        .map_err(|p| Error::Config(crate::problem::Problems(vec![p])))?;
    Ok((name, admin))
}
