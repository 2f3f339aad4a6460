//! A database that exists for one job (`ferry db verify`, `ferry backup drill`, `ferry
//! rehearse`, a backup on its way to another engine): a temporary SQLite file, or a new database on the server of
//! the project's own, created through the server's administrative database
//! (so that the project's database sees no connection) and dropped when the
//! job ends, whatever way it ends.

use std::path::Path;

use crate::engine::catalog::ident;
use crate::engine::{self, ConnectOptions};
use crate::error::{Error, Result};
use crate::problem::{Problem, Problems};
use crate::url::{DatabaseUrl, EngineKind};

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

impl Scratch {
    /// A new, empty database beside `live`, named after `purpose`.
    pub fn create(live: &DatabaseUrl, purpose: &str) -> Result<Self> {
        // Two made in the same microsecond (`ferry db verify` makes two at
        // once) still differ.
        static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let now = jiff::Timestamp::now();
        let name = format!(
            "ferry_{purpose}_{}_{}_{}_{}",
            std::process::id(),
            now.as_second(),
            now.subsec_nanosecond() / 1000,
            MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
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
        if live.kind() == EngineKind::Postgres {
            drop_abandoned(&mut *conn, now.as_second());
        }
        conn.execute(&format!("CREATE DATABASE {}", ident(live.kind(), &name)))
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
        if let Some((admin, name)) = self.server.take()
            && admin.kind() == EngineKind::Postgres
            && let Ok(mut conn) = engine::connect(&admin, &ConnectOptions::default())
        {
            // So that no later job takes it for one a killed ferry left.
            let _ = conn.execute(&format!(
                "COMMENT ON DATABASE {} IS '{KEPT}'",
                ident(EngineKind::Postgres, &name)
            ));
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        self.url.clone()
    }
}

/// The comment on a scratch database kept on purpose.
const KEPT: &str = "ferry: kept";

/// Drops the PostgreSQL scratch databases that a killed ferry left behind:
/// named by `create`, made over an hour ago by a process this machine no
/// longer runs, not kept on purpose, and with nobody connected (looked up
/// first, since PostgreSQL waits 5 s before refusing to drop a database in
/// use; and refuses it still if someone connected in between, so one that a
/// ferry on another machine works in stays). MariaDB drops a database in use, so there this is
/// left to the operator.
fn drop_abandoned(conn: &mut dyn engine::Engine, now: i64) {
    let Ok(rows) = conn.query(&format!(
        "SELECT datname FROM pg_database d WHERE (datname LIKE 'ferry\\_verify\\_%' OR datname LIKE 'ferry\\_rehearse\\_%' OR datname LIKE 'ferry\\_drill\\_%' OR datname LIKE 'ferry\\_transfer\\_%')
           AND shobj_description(d.oid, 'pg_database') IS DISTINCT FROM '{KEPT}'
           AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"
    )) else {
        return;
    };
    for name in rows.into_iter().filter_map(|r| r.into_iter().next().flatten()) {
        let parts: Vec<&str> = name.split('_').collect();
        let (Some(pid), Some(made)) = (
            parts.get(2).and_then(|p| p.parse::<u32>().ok()),
            parts.get(3).and_then(|t| t.parse::<i64>().ok()),
        ) else {
            continue;
        };
        if now - made < 3600 || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        match conn.execute(&format!(
            "DROP DATABASE IF EXISTS {}",
            ident(EngineKind::Postgres, &name)
        )) {
            Ok(()) => tracing::info!("dropped {name}, a scratch database a killed ferry left"),
            Err(e) => tracing::debug!("left {name}: {}", e.message),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some((admin, name)) = self.server.take() else {
            return;
        };
        let kind = admin.kind();
        let sql = match kind {
            EngineKind::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(kind, &name)),
            _ => format!("DROP DATABASE IF EXISTS {}", ident(kind, &name)),
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
