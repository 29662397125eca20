//! The one way anything is written: begin, audit event, change counter,
//! commit, then apply to the runtime. Every mutation of the product (the
//! console, the admin API, runtime logins and logouts, start-up
//! registration, demo seeding) is a [`Change`]; nothing else commits.

use runtime::{Applied, ChangedCell};
use serde_json::Value;
use store::{Conn, Transaction};

use crate::{Console, Error};

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Admin(String),
    ApiKey(String),
    /// An application user, through the runtime API (login, logout).
    User(String),
    SelfRegistration,
    System,
    /// Whoever issued an impersonation session (their label, `admin:…` or
    /// `key:…`), acting through it.
    Impersonator(String),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Admin(email) => format!("admin:{email}"),
            Actor::ApiKey(name) => format!("key:{name}"),
            Actor::User(email) => format!("user:{email}"),
            Actor::SelfRegistration => "self-registration".to_string(),
            Actor::System => "system".to_string(),
            Actor::Impersonator(label) => label.clone(),
        }
    }
}

/// One audit event, written inside the change's transaction.
pub struct Event<'a> {
    pub action: &'a str,
    pub target: String,
    pub service: Option<&'a str>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// What the change did to the policy, so the runtime can follow.
enum PolicyEffect {
    Unchanged,
    /// Exactly one cell: patched in place.
    Cell(ChangedCell),
    /// Anything more: reloaded.
    Reload,
}

#[must_use = "a change that is not committed is rolled back"]
pub struct Change<'c> {
    console: &'c Console,
    actor: &'c Actor,
    /// The application it changes; `None` for the console's own accounts.
    app: Option<String>,
    /// The application is deleted by this change.
    app_deleted: bool,
    tx: Transaction,
    policy: PolicyEffect,
    /// The policy counter, when [`Change::serialize`] moved it already.
    counted: Option<i64>,
    ended_users: Vec<String>,
    ended_tokens: Vec<String>,
    changed_users: Vec<String>,
}

impl<'c> Change<'c> {
    /// A change of the application the console addresses.
    pub async fn begin(console: &'c Console, actor: &'c Actor) -> Result<Change<'c>, Error> {
        Self::begin_for(console, actor, Some(console.app.to_string())).await
    }

    /// A change of the console's own accounts (admins and their keys),
    /// which belong to no application.
    pub async fn begin_console(
        console: &'c Console,
        actor: &'c Actor,
    ) -> Result<Change<'c>, Error> {
        Self::begin_for(console, actor, None).await
    }

    /// A change of the application `app` (one being created, say).
    pub async fn begin_for(
        console: &'c Console,
        actor: &'c Actor,
        app: Option<String>,
    ) -> Result<Change<'c>, Error> {
        Ok(Change {
            console,
            actor,
            app,
            app_deleted: false,
            tx: store::begin(&console.pool).await?,
            policy: PolicyEffect::Unchanged,
            counted: None,
            ended_users: Vec::new(),
            ended_tokens: Vec::new(),
            changed_users: Vec::new(),
        })
    }

    /// Moves the policy counter first thing, which takes its row lock
    /// (PostgreSQL) or the database's write lock (SQLite) for the rest of
    /// the change: changes that read before they write, and start-up
    /// registrations of several servers at once, then run one at a time and
    /// never act on a state another is replacing. Call it right after
    /// [`Change::begin`].
    pub async fn serialize(&mut self) -> Result<(), Error> {
        if self.counted.is_none() {
            self.counted = Some(store::counters::bump_policy(&mut self.tx).await?);
        }
        Ok(())
    }

    /// The transaction, for the store's write functions.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    pub fn actor(&self) -> &Actor {
        self.actor
    }

    pub async fn audit(&mut self, event: Event<'_>) -> Result<(), Error> {
        let actor = self.actor;
        self.audit_by(actor, event).await
    }

    /// An event of this change done by someone else: the system's expiry
    /// of a time-limited cell that an admin's change comes across.
    pub async fn audit_by(&mut self, actor: &Actor, event: Event<'_>) -> Result<(), Error> {
        store::audit::insert(
            &mut self.tx,
            store::audit::NewEvent {
                application: if self.app_deleted {
                    None
                } else {
                    self.app.as_deref()
                },
                at: store::now_millis(),
                actor: &actor.label(),
                action: event.action,
                target: &event.target,
                service: event.service,
                before: event.before.map(|value| value.to_string()),
                after: event.after.map(|value| value.to_string()),
            },
        )
        .await?;
        Ok(())
    }

    /// Users, roles, services or permissions changed: the runtime reloads.
    pub fn policy_changed(&mut self) {
        self.policy = PolicyEffect::Reload;
    }

    /// The application is deleted by this change: every server forgets it
    /// (its audit event belongs to the console, as the application's own
    /// events go with it).
    pub fn app_deleted(&mut self) {
        self.app_deleted = true;
        self.policy = PolicyEffect::Reload;
    }

    /// One permission cell changed; alone, it is patched in place.
    pub fn cell_changed(&mut self, cell: ChangedCell) {
        self.policy = match self.policy {
            PolicyEffect::Unchanged => PolicyEffect::Cell(cell),
            PolicyEffect::Cell(_) | PolicyEffect::Reload => PolicyEffect::Reload,
        };
    }

    /// Every session of the user ended (deleted in this change).
    pub fn sessions_ended_for(&mut self, user_id: &str) {
        self.ended_users.push(user_id.to_string());
    }

    /// One session ended (deleted in this change), by token hash.
    pub fn session_ended(&mut self, token_hash: &str) {
        self.ended_tokens.push(token_hash.to_string());
    }

    /// A user was added, or their name, status or roles changed, and
    /// nothing else of the policy: every server reads that user again
    /// instead of reloading everything (a flood of self-registrations must
    /// not reload every server's snapshot).
    pub fn user_changed(&mut self, user_id: &str) {
        self.changed_users.push(user_id.to_string());
    }

    /// Writes what the other servers must forget, read again or patch to
    /// the event feed, numbered by the counter this moves (its row lock
    /// keeps the numbers in commit order); `policy` is the application's
    /// count this change moved to. Whether it wrote any.
    async fn write_events(&mut self, policy: Option<&(String, i64)>) -> Result<bool, Error> {
        use store::events::EventKind;
        self.ended_users.sort();
        self.ended_users.dedup();
        self.ended_tokens.sort();
        self.ended_tokens.dedup();
        self.changed_users.sort();
        self.changed_users.dedup();
        let events = self
            .ended_tokens
            .iter()
            .map(|token_hash| (EventKind::Token, token_hash))
            .chain(
                self.ended_users
                    .iter()
                    .map(|id| (EventKind::UserSessions, id)),
            )
            .chain(self.changed_users.iter().map(|id| (EventKind::User, id)));
        // one cell alone: the other servers patch it as this one does
        let cell = match (&self.policy, policy) {
            (PolicyEffect::Cell(cell), Some((app, version))) if !self.app_deleted => {
                Some(cell.event_text(app, *version))
            }
            _ => None,
        };
        let events = events.chain(cell.iter().map(|text| (EventKind::Cell, text)));
        let mut seq = None;
        let now = store::now_millis();
        for (kind, subject) in events {
            let seq = match seq {
                Some(seq) => seq,
                None => *seq.insert(store::counters::bump_sessions(&mut self.tx).await?),
            };
            store::events::insert(&mut self.tx, seq, kind, subject, now).await?;
        }
        Ok(seq.is_some())
    }

    /// Counts the change (in its own transaction, so a crash after the
    /// commit cannot hide it from the other servers), commits, and tells
    /// the runtime here.
    pub async fn commit(mut self) -> Result<(), Error> {
        let policy_changed = match (&self.policy, self.counted) {
            (_, Some(_)) => true,
            (PolicyEffect::Unchanged, None) => false,
            (PolicyEffect::Cell(_) | PolicyEffect::Reload, None) => {
                store::counters::bump_policy(&mut self.tx).await?;
                true
            }
        };
        let policy = match (&self.app, policy_changed) {
            (Some(app), true) if self.app_deleted => Some((app.clone(), i64::MAX)),
            (Some(app), true) => {
                let version = store::counters::bump_app(&mut self.tx, app)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("no application `{app}`")))?;
                Some((app.clone(), version))
            }
            _ => None,
        };
        if self.write_events(policy.as_ref()).await? || policy_changed {
            // the other servers read it now, not at their next poll
            store::notify::signal(&mut self.tx).await?;
        }
        store::commit(self.tx).await?;
        let applied = Applied {
            policy,
            cell: match self.policy {
                PolicyEffect::Cell(cell) => Some(cell),
                PolicyEffect::Unchanged | PolicyEffect::Reload => None,
            },
            ended_users: self.ended_users,
            ended_tokens: self.ended_tokens,
            changed_users: self.changed_users,
        };
        // committed is committed: if the runtime cannot follow now, the
        // counters make the refresher catch up, so this is not an error
        if let Err(error) = self.console.runtime.apply(&applied).await {
            tracing::warn!(%error, "a committed change is not in the snapshot yet; the refresher will load it");
        }
        Ok(())
    }
}

/// One subject's cells (`subject_id` its user or role id), in every
/// service, ended ones included, as the audit event of its deletion lists
/// what went with it.
pub(crate) async fn cells_of_subject(
    conn: &mut Conn,
    kind: policy::cells::SubjectKind,
    subject_id: &str,
    subject: &str,
) -> Result<Vec<Value>, Error> {
    Ok(
        store::permissions::cells_of_subject(conn, kind, subject_id, subject)
            .await?
            .into_iter()
            .map(|cell| {
                serde_json::json!({"service": cell.service, "method": cell.method, "effect": cell.effect, "until": cell.until})
            })
            .collect(),
    )
}
