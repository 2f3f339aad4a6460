//! A database that exists for one job (`ferry db verify`, `ferry
//! rehearse`): a temporary SQLite file, or a new database on the server of
//! the project's own, created through the server's administrative database
//! (so that the project's database sees no connection) and dropped when the
//! job ends, whatever way it ends.

use std::path::Path;

use crate::engine::{self, ConnectOptions, DatabaseUrl, EngineKind};
use crate::error::{Error, Problem, Problems, Result};

/// A scratch database; dropped with this value unless kept.
pub struct Scratch {
    url: DatabaseUrl,
    /// The server's administrative database and the scratch database's
    /// name, for dropping it.
    server: Option<(DatabaseUrl, String)>,
    dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").field("url", self.url.safe()).finish()
    }
}

fn quoted(kind: EngineKind, name: &str) -> String {
    match kind {
        EngineKind::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

impl Scratch {
    /// A new, empty database beside `live`, named after `purpose`.
    pub fn create(live: &DatabaseUrl, purpose: &str) -> Result<Self> {
        let name = format!(
            "ferry_{purpose}_{}_{}",
            std::process::id(),
            jiff::Timestamp::now().subsec_nanosecond() / 1000
        );
        if live.kind() == EngineKind::Sqlite {
            let dir = tempfile::Builder::new()
                .prefix(&format!("ferry-{purpose}-"))
                .tempdir()
                .map_err(|e| Error::io("cannot create", Path::new("a temporary folder"), e))?;
            let url = DatabaseUrl::parse(
                &format!("sqlite://{}", dir.path().join(format!("{name}.db")).display()),
                Path::new("."),
            )
            .map_err(|p| Error::Config(Problems(vec![p])))?;
            return Ok(Scratch {
                url,
                server: None,
                dir: Some(dir),
            });
        }
        let admin_db = if live.kind() == EngineKind::Postgres {
            "postgres"
        } else {
            "mysql"
        };
        let (_, admin) = engine::admin::server_url(live, admin_db)?;
        let mut u = url::Url::parse(live.expose_secret()).map_err(|e| Error::db("the database URL", e))?;
        u.set_path(&format!("/{name}"));
        let url = DatabaseUrl::parse(u.as_str(), Path::new(".")).map_err(|p| Error::Config(Problems(vec![p])))?;
        let mut conn = engine::connect(&admin, &ConnectOptions::default())?;
        conn.execute(&format!("CREATE DATABASE {}", quoted(live.kind(), &name)))
            .map_err(|e| Error::db(format!("cannot create the scratch database {name}"), e.message))?;
        Ok(Scratch {
            url,
            server: Some((admin, name)),
            dir: None,
        })
    }

    /// A database the user named for the job: never the project's own, and
    /// empty, since the job changes it.
    pub fn given(url: DatabaseUrl, live: &DatabaseUrl) -> Result<Self> {
        if url.safe().to_string() == live.safe().to_string() {
            return Err(Error::Config(Problems(vec![
                Problem::general(format!("{} is the project's own database", url.safe()))
                    .help("name a scratch database, or leave the option out and ferry makes one and drops it after"),
            ])));
        }
        let mut conn = engine::connect(&url, &ConnectOptions::default())?;
        let tables = engine::catalog::tables(&mut *conn)?;
        if !tables.is_empty() {
            return Err(Error::refused(
                Problem::general(format!(
                    "{} is not empty ({} table{}), and this would change it",
                    url.safe(),
                    tables.len(),
                    if tables.len() == 1 { "" } else { "s" }
                ))
                .help("name an empty database"),
            ));
        }
        Ok(Scratch {
            url,
            server: None,
            dir: None,
        })
    }

    /// Its URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Keeps the database after the job (`--keep`): returns its URL.
    pub fn keep(mut self) -> DatabaseUrl {
        self.server = None;
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        self.url.clone()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some((admin, name)) = self.server.take() else {
            return;
        };
        let kind = admin.kind();
        let sql = match kind {
            EngineKind::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quoted(kind, &name)),
            _ => format!("DROP DATABASE IF EXISTS {}", quoted(kind, &name)),
        };
        match engine::connect(&admin, &ConnectOptions::default()) {
            Ok(mut conn) => {
                if let Err(e) = conn.execute(&sql) {
                    tracing::warn!("could not drop the scratch database {name}: {}", e.message);
                }
            }
            Err(e) => tracing::warn!("could not drop the scratch database {name}: {e}"),
        }
    }
}
