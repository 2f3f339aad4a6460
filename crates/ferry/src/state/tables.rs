//! The database store's tables, named after the history table: on
//! PostgreSQL in a schema of their own (`ferry_state.<history>_runs`), so
//! that a restore, which drops and recreates the application's schemas,
//! never touches them; elsewhere beside the history table
//! (`<history>_state_runs`), left out of dumps and restores by name.

use crate::engine::{Engine, HistoryTable, dialect};
use crate::error::{Error, Result};
use crate::url::EngineKind;

/// The tables of the run state that belongs to one history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTables {
    /// Named documents (records).
    pub docs: HistoryTable,
    /// One row per run: what it is, and how it stands.
    pub runs: HistoryTable,
    /// The runs' journals, a row per line.
    pub journal: HistoryTable,
}

impl StateTables {
    /// The state tables of `history` on `kind`.
    pub fn of(history: &HistoryTable, kind: EngineKind) -> Self {
        let named = |suffix: &str| match dialect(kind).state_schema() {
            Some(schema) => {
                let mut name = format!("{}_{suffix}", history.name());
                name.truncate(63);
                HistoryTable::parse(&format!("{schema}.{name}")).unwrap_or_else(|_| history.sibling(suffix))
            }
            None => history.sibling(&format!("state_{suffix}")),
        };
        StateTables {
            docs: named("docs"),
            runs: named("runs"),
            journal: named("journal"),
        }
    }

    /// The three, for lists of ferry's own tables.
    pub fn all(&self) -> [&HistoryTable; 3] {
        [&self.docs, &self.runs, &self.journal]
    }

    /// Creates the tables (and on PostgreSQL their schema) if they are not
    /// there; a user without the right to gets an error naming the grant.
    pub(crate) fn ensure(&self, engine: &mut dyn Engine) -> Result<()> {
        let d = engine.dialect();
        let mut statements = Vec::new();
        if let Some(schema) = d.state_schema() {
            statements.push(format!("CREATE SCHEMA IF NOT EXISTS {}", d.ident(schema)));
        }
        let kind = engine.kind();
        statements.push(d.create_state_docs(&self.docs.quoted(kind)));
        statements.push(d.create_state_runs(&self.runs.quoted(kind)));
        statements.push(d.create_state_journal(&self.journal.quoted(kind)));
        for sql in statements {
            if let Err(e) = engine.execute(&sql) {
                let (db, user) = who(engine);
                return Err(no_rights(kind, &self.runs, &e.message, &db, &user));
            }
        }
        Ok(())
    }

    /// Whether the runs table exists.
    pub(crate) fn exist(&self, engine: &mut dyn Engine) -> Result<bool> {
        let kind = engine.kind();
        let sql = dialect(kind).table_exists(self.runs.schema(), self.runs.name(), &self.runs.quoted(kind));
        let rows = engine
            .query(&sql)
            .map_err(|e| Error::db("cannot read ferry's run state", e.message))?;
        Ok(rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_deref())
            .is_some_and(|v| v != "0"))
    }
}

/// The database's name and the user ferry connects as, for a grant to
/// name (placeholders when the server will not say).
fn who(engine: &mut dyn Engine) -> (String, String) {
    let sql = match engine.kind() {
        EngineKind::Postgres => "SELECT current_database(), current_user",
        EngineKind::MySql => "SELECT DATABASE(), CURRENT_USER()",
        EngineKind::Sqlite => return (String::new(), String::new()),
    };
    let row = engine
        .query(sql)
        .ok()
        .and_then(|r| r.into_iter().next())
        .unwrap_or_default();
    let mut it = row.into_iter().map(Option::unwrap_or_default);
    let db = it
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "<database>".into());
    let user = it.next().filter(|s| !s.is_empty()).unwrap_or_else(|| "<user>".into());
    (db, user)
}

/// The error for a user that cannot create the state tables.
fn no_rights(kind: EngineKind, runs: &HistoryTable, message: &str, db: &str, user: &str) -> Error {
    let grant = match kind {
        EngineKind::Postgres => format!(
            "grant the database user the right to create a schema (`GRANT CREATE ON DATABASE \"{db}\" TO \"{user}\"`), or create the schema ferry_state for it (`CREATE SCHEMA ferry_state AUTHORIZATION \"{user}\"`)"
        ),
        EngineKind::MySql => {
            let user = match user.split_once('@') {
                Some((name, host)) => format!("'{name}'@'{host}'"),
                None => format!("'{user}'"),
            };
            format!("grant the database user the right to create tables (GRANT CREATE ON `{db}`.* TO {user})")
        }
        EngineKind::Sqlite => "make the database file and its folder writable by this user".to_owned(),
    };
    Error::refusal(
        format!(
            "ferry keeps its run state in the database, in tables it creates ({runs} and two beside it), and cannot create them: {message}"
        ),
        format!("{grant}; or keep the run state in a folder instead: `[state] dir = \".ferry\"` in ferry.toml"),
    )
}

/// The newest unfinished upgrade run the database records, as `(id,
/// state)`: what every write refuses until it is resumed or rolled back.
/// None when there is none, or no run state at all.
pub fn unfinished_run(engine: &mut dyn Engine, history: &HistoryTable) -> Result<Option<(String, String)>> {
    let kind = engine.kind();
    let tables = StateTables::of(history, kind);
    if !tables.exist(engine)? {
        return Ok(None);
    }
    let rows = engine
        .query(&format!(
            "SELECT run, state FROM {} WHERE finished = {} ORDER BY run DESC",
            tables.runs.quoted(kind),
            dialect(kind).boolean(false)
        ))
        .map_err(|e| Error::db("cannot read ferry's run state", e.message))?;
    Ok(rows.into_iter().next().and_then(|r| {
        let mut it = r.into_iter();
        Some((it.next().flatten()?, it.next().flatten().unwrap_or_default()))
    }))
}
