//! Permission cells: per service, per user or role, per method or All Methods
//! (`*`). Grant and Deny are stored; Inherit is the absence of a cell.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decision::{Assignments, Decision, Effect, Policy, Scope, ServicePolicy, Subject};
use crate::impact::{MethodImpact, ServiceImpact};
use crate::suites::TestReport;
use crate::time::Until;

/// The scope key of All Methods in paths, documents and storage.
pub const ALL_METHODS: &str = "*";

impl Effect {
    /// The stored text of a Grant or Deny; Inherit is not stored.
    pub fn as_stored(self) -> Option<&'static str> {
        match self {
            Effect::Grant => Some("grant"),
            Effect::Deny => Some("deny"),
            Effect::Inherit => None,
        }
    }

    /// Reads a stored effect. Anything but `grant` or `deny` is an error,
    /// never Inherit: a corrupt Deny must not turn into "allowed".
    pub fn from_stored(text: &str) -> Result<Effect, UnreadableEffect> {
        match text {
            "grant" => Ok(Effect::Grant),
            "deny" => Ok(Effect::Deny),
            other => Err(UnreadableEffect(other.to_string())),
        }
    }
}

/// A stored effect that is neither `grant` nor `deny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableEffect(pub String);

impl fmt::Display for UnreadableEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a stored permission has the effect `{}`, which is neither `grant` nor `deny`",
            self.0.escape_debug()
        )
    }
}

impl std::error::Error for UnreadableEffect {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    Users,
    Roles,
}

impl SubjectKind {
    pub fn parse(text: &str) -> Option<SubjectKind> {
        match text {
            "users" => Some(SubjectKind::Users),
            "roles" => Some(SubjectKind::Roles),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Users => "users",
            SubjectKind::Roles => "roles",
        }
    }

    /// `user` or `role`, for messages.
    pub fn singular(self) -> &'static str {
        match self {
            SubjectKind::Users => "user",
            SubjectKind::Roles => "role",
        }
    }
}

/// One cell of a document: its effect, and its end if it is time-limited.
/// Written as the effect alone (`"deny"`), or with its end as
/// `{"effect": "deny", "until": "2026-12-04T17:00:00Z"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub effect: Effect,
    pub until: Option<Until>,
}

impl From<Effect> for Cell {
    fn from(effect: Effect) -> Cell {
        Cell {
            effect,
            until: None,
        }
    }
}

/// The object form of a [`Cell`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimedCell {
    effect: Effect,
    until: Until,
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.until {
            None => self.effect.serialize(serializer),
            Some(until) => TimedCell {
                effect: self.effect,
                until,
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Form;
        impl<'de> serde::de::Visitor<'de> for Form {
            type Value = Cell;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "`grant`, `deny` or `inherit`, or {\"effect\": ..., \"until\": \"<RFC 3339>\"}",
                )
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Cell, E> {
                use serde::de::IntoDeserializer;
                Effect::deserialize(text.into_deserializer()).map(Cell::from)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Cell, A::Error> {
                let timed =
                    TimedCell::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Cell {
                    effect: timed.effect,
                    until: Some(timed.until),
                })
            }
        }
        deserializer.deserialize_any(Form)
    }
}

/// Method name (or `*`) to cell.
pub type Cells = BTreeMap<String, Cell>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePermissions {
    #[serde(default, deserialize_with = "unique_subjects")]
    pub users: BTreeMap<String, Cells>,
    #[serde(default, deserialize_with = "unique_subjects")]
    pub roles: BTreeMap<String, Cells>,
}

impl ServicePermissions {
    pub fn of_kind_mut(&mut self, kind: SubjectKind) -> &mut BTreeMap<String, Cells> {
        match kind {
            SubjectKind::Users => &mut self.users,
            SubjectKind::Roles => &mut self.roles,
        }
    }
}

/// The whole permission set, as `GET /console/api/permissions` returns it and
/// `PUT` takes it: absent cells are Inherit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionDocument {
    #[serde(deserialize_with = "unique_keys")]
    pub services: BTreeMap<String, ServicePermissions>,
}

/// A JSON object read without letting a repeated key silently win: a
/// document naming a service, subject or method twice is refused.
struct UniqueKeys<V>(BTreeMap<String, V>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueKeys<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Keys<V> {
            type Value = UniqueKeys<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object whose keys are all different")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, V>()? {
                    if entries.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "`{key}` is named twice in one object"
                        )));
                    }
                    entries.insert(key, value);
                }
                Ok(UniqueKeys(entries))
            }
        }
        deserializer.deserialize_map(Keys(std::marker::PhantomData))
    }
}

fn unique_keys<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    UniqueKeys::deserialize(deserializer).map(|unique| unique.0)
}

fn unique_subjects<'de, D>(deserializer: D) -> Result<BTreeMap<String, Cells>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let subjects = UniqueKeys::<UniqueKeys<Cell>>::deserialize(deserializer)?;
    Ok(subjects
        .0
        .into_iter()
        .map(|(subject, cells)| (subject, cells.0))
        .collect())
}

impl PermissionDocument {
    /// Files one cell under its service, subject and method.
    pub fn insert(
        &mut self,
        service: &str,
        kind: SubjectKind,
        subject: &str,
        method: &str,
        effect: Effect,
    ) {
        self.insert_cell(service, kind, subject, method, effect.into());
    }

    /// Files one cell, with its end if it has one.
    pub fn insert_cell(
        &mut self,
        service: &str,
        kind: SubjectKind,
        subject: &str,
        method: &str,
        cell: Cell,
    ) {
        self.services
            .entry(service.to_string())
            .or_default()
            .of_kind_mut(kind)
            .entry(subject.to_string())
            .or_default()
            .insert(method.to_string(), cell);
    }
}

impl PermissionDocument {
    /// The policy this document would make: `base`'s services and methods,
    /// with this document's cells and no other (names as the document
    /// gives them: canonical ones, after the use cases checked them).
    pub fn over(&self, base: &Policy) -> Policy {
        let services = base
            .services
            .iter()
            .map(|(name, current)| {
                let mut service = ServicePolicy {
                    methods: current.methods.clone(),
                    assignments: Default::default(),
                };
                if let Some(permissions) = self.services.get(name) {
                    for (kind, subjects) in [
                        (SubjectKind::Users, &permissions.users),
                        (SubjectKind::Roles, &permissions.roles),
                    ] {
                        for (subject, cells) in subjects {
                            let subject = match kind {
                                SubjectKind::Users => Subject::User(subject.clone()),
                                SubjectKind::Roles => Subject::Role(subject.clone()),
                            };
                            // a time-limited cell as it stands now (an
                            // import refuses an end in the past)
                            for (method, cell) in cells {
                                service.set(&subject, method, cell.effect);
                            }
                        }
                    }
                }
                (name.clone(), std::sync::Arc::new(service))
            })
            .collect();
        Policy { services }
    }
}

impl Decision {
    /// The cell that denied, as the cell API addresses it: kind, name and
    /// method (or `*`). `None` unless this is a Deny.
    pub fn deciding_cell(&self) -> Option<(SubjectKind, String, String)> {
        let Decision::Deny { subject, scope } = self else {
            return None;
        };
        let (kind, name) = match subject {
            Subject::User(email) => (SubjectKind::Users, email.clone()),
            Subject::Role(role) => (SubjectKind::Roles, role.clone()),
        };
        let method = match scope {
            Scope::Method(method) => method.clone(),
            Scope::AllMethods => ALL_METHODS.to_string(),
        };
        Some((kind, name, method))
    }
}

impl Assignments {
    /// Sets one scope (`*` is All Methods); a method's Inherit is the
    /// absence of its entry, as loaded.
    pub fn set(&mut self, method: &str, effect: Effect) {
        if method == ALL_METHODS {
            self.all_methods = effect;
        } else if effect == Effect::Inherit {
            self.methods.remove(method);
        } else {
            self.methods.insert(method.to_string(), effect);
        }
    }
}

impl Assignments {
    /// [`Assignments::set`] with a method name the caller gives away.
    pub fn put(&mut self, method: String, effect: Effect) {
        if method == ALL_METHODS {
            self.all_methods = effect;
        } else if effect == Effect::Inherit {
            self.methods.remove(&method);
        } else {
            self.methods.insert(method, effect);
        }
    }
}

impl ServicePolicy {
    /// One cell's state (`*` is All Methods); Inherit when nothing is set.
    pub fn cell(&self, subject: &Subject, method: &str) -> Effect {
        let Some(assignments) = self.assignments.get(subject) else {
            return Effect::Inherit;
        };
        if method == ALL_METHODS {
            assignments.all_methods
        } else {
            assignments.methods.get(method).copied().unwrap_or_default()
        }
    }

    /// Sets one cell; a subject left with nothing assigned is dropped, so
    /// equal policies compare equal however they were built.
    pub fn set(&mut self, subject: &Subject, method: &str, effect: Effect) {
        let assignments = self.assignments.entry(subject.clone()).or_default();
        assignments.set(method, effect);
        if assignments == &Assignments::default() {
            self.assignments.remove(subject);
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectBody {
    pub effect: Effect,
    /// The cell returns to Inherit at this instant (Grant and Deny only).
    #[serde(default)]
    pub until: Option<Until>,
}

/// One cell that changes (or would change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellChange {
    pub service: String,
    pub kind: SubjectKind,
    pub subject: String,
    pub method: String,
    pub before: Effect,
    pub after: Effect,
    /// The end of `before`, if it was time-limited: an undo sets both.
    #[serde(
        default,
        rename = "beforeUntil",
        skip_serializing_if = "Option::is_none"
    )]
    pub before_until: Option<Until>,
    /// The end of `after`, for a time-limited cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Until>,
}

/// One cell set (`PUT .../permissions/...`), and what it did to who may
/// call what: the console's notice, with the Undo that sets `before`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellSet {
    #[serde(flatten)]
    pub change: CellChange,
    pub impact: Vec<MethodImpact>,
}

/// A bulk edit of one service's cells, or its dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkEdit {
    /// The cells that change (or would).
    pub changes: Vec<CellChange>,
    pub impact: Vec<MethodImpact>,
    /// False for a dry run.
    pub applied: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionDiff {
    pub added: Vec<CellChange>,
    pub changed: Vec<CellChange>,
    pub removed: Vec<CellChange>,
    /// False for a dry run.
    pub applied: bool,
    /// Per service and method, how many users gain or lose access.
    #[serde(default)]
    pub impact: Vec<ServiceImpact>,
    /// The saved permission tests run against the document, if any are
    /// saved: a failure refuses the import unless it is forced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestReport>,
}

/// A cell's address in a document: service, kind, subject, method.
pub type CellAddress = (String, SubjectKind, String, String);

/// Flattens a document into `(service, kind, subject, method) -> cell`,
/// leaving out Inherit.
pub fn flatten(document: &PermissionDocument) -> BTreeMap<CellAddress, Cell> {
    let mut cells = BTreeMap::new();
    for (service, permissions) in &document.services {
        for (kind, subjects) in [
            (SubjectKind::Users, &permissions.users),
            (SubjectKind::Roles, &permissions.roles),
        ] {
            for (subject, subject_cells) in subjects {
                for (method, cell) in subject_cells {
                    if cell.effect != Effect::Inherit {
                        cells.insert(
                            (service.clone(), kind, subject.clone(), method.clone()),
                            *cell,
                        );
                    }
                }
            }
        }
    }
    cells
}

/// What turns `current` into `wanted`, cell by cell (a new end is a
/// change too).
pub fn diff(current: &PermissionDocument, wanted: &PermissionDocument) -> PermissionDiff {
    let old = flatten(current);
    let new = flatten(wanted);
    let change = |key: &CellAddress, before: Cell, after: Cell| CellChange {
        service: key.0.clone(),
        kind: key.1,
        subject: key.2.clone(),
        method: key.3.clone(),
        before: before.effect,
        after: after.effect,
        before_until: before.until,
        until: after.until,
    };
    let mut result = PermissionDiff::default();
    for (key, after) in &new {
        match old.get(key) {
            None => result
                .added
                .push(change(key, Effect::Inherit.into(), *after)),
            Some(before) if before != after => result.changed.push(change(key, *before, *after)),
            Some(_) => {}
        }
    }
    for (key, before) in &old {
        if !new.contains_key(key) {
            result
                .removed
                .push(change(key, *before, Effect::Inherit.into()));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_effects_fail_closed() {
        assert_eq!(Effect::from_stored("grant"), Ok(Effect::Grant));
        assert_eq!(Effect::from_stored("deny"), Ok(Effect::Deny));
        for bad in ["", "Deny", "inherit", "deny "] {
            assert!(Effect::from_stored(bad).is_err(), "{bad:?}");
        }
        for effect in [Effect::Grant, Effect::Deny] {
            let stored = effect.as_stored().unwrap_or_default();
            assert_eq!(Effect::from_stored(stored), Ok(effect));
        }
        assert_eq!(Effect::Inherit.as_stored(), None);
    }

    #[test]
    fn repeated_keys_are_refused_at_every_level() {
        let parse = |text: &str| serde_json::from_str::<PermissionDocument>(text);
        assert!(parse(r#"{"services":{"s":{"roles":{"r":{"*":"deny"}}}}}"#).is_ok());
        for twice in [
            r#"{"services":{"s":{},"s":{}}}"#,
            r#"{"services":{"s":{"roles":{"r":{"*":"deny"},"r":{}}}}}"#,
            r#"{"services":{"s":{"users":{"a@x":{"m":"deny","m":"grant"}}}}}"#,
        ] {
            let error = parse(twice)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains("named twice"), "{twice}: {error}");
        }
    }

    #[test]
    fn a_cell_is_an_effect_or_an_effect_with_its_end() {
        let text = r#"{"services":{"s":{"roles":{"r":{"*":"deny","m":{"effect":"grant","until":"2026-12-04T17:00:00Z"}}}}}}"#;
        let document: PermissionDocument = serde_json::from_str(text).unwrap();
        let cells = flatten(&document);
        let timed = cells
            .get(&("s".into(), SubjectKind::Roles, "r".into(), "m".into()))
            .copied();
        assert_eq!(
            timed,
            Some(Cell {
                effect: Effect::Grant,
                until: Some(Until(
                    crate::time::parse_rfc3339("2026-12-04T17:00:00Z").unwrap()
                )),
            })
        );
        let written = serde_json::to_string(&document).unwrap();
        assert!(written.contains(r#""*":"deny""#), "{written}");
        assert!(
            written.contains(r#""m":{"effect":"grant","until":"2026-12-04T17:00:00.000Z"}"#),
            "{written}"
        );
        assert_eq!(
            serde_json::from_str::<PermissionDocument>(&written).unwrap(),
            document
        );
        for bad in [
            r#"{"effect":"grant"}"#,
            r#"{"effect":"grant","until":"Friday"}"#,
            r#"{"effect":"grant","until":"2026-12-04T17:00:00Z","why":"x"}"#,
            r#""allow""#,
            r#"3"#,
        ] {
            let text = format!(r#"{{"services":{{"s":{{"roles":{{"r":{{"m":{bad}}}}}}}}}}}"#);
            assert!(
                serde_json::from_str::<PermissionDocument>(&text).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_new_end_is_a_change() {
        let end = |millis| Cell {
            effect: Effect::Grant,
            until: Some(Until(millis)),
        };
        let mut current = PermissionDocument::default();
        current.insert_cell("s", SubjectKind::Roles, "r", "m", end(1_000));
        let mut wanted = PermissionDocument::default();
        wanted.insert_cell("s", SubjectKind::Roles, "r", "m", end(2_000));
        let result = diff(&current, &wanted);
        assert_eq!(result.changed.len(), 1);
        assert_eq!(result.changed[0].until, Some(Until(2_000)));
        assert!(diff(&wanted, &wanted).changed.is_empty());
        assert_eq!(result.changed[0].before_until, Some(Until(1_000)));
        let mut plain = PermissionDocument::default();
        plain.insert("s", SubjectKind::Roles, "r", "m", Effect::Grant);
        let result = diff(&current, &plain);
        assert_eq!(result.changed.len(), 1);
        assert_eq!(result.changed[0].until, None);
        assert_eq!(result.changed[0].before_until, Some(Until(1_000)));
    }

    #[test]
    fn diff_names_each_cell_once() {
        let mut current = PermissionDocument::default();
        current.insert("s", SubjectKind::Roles, "r", "*", Effect::Deny);
        current.insert("s", SubjectKind::Users, "a@x", "m", Effect::Grant);
        let mut wanted = PermissionDocument::default();
        wanted.insert("s", SubjectKind::Roles, "r", "*", Effect::Grant);
        wanted.insert("s", SubjectKind::Roles, "q", "m", Effect::Deny);
        let result = diff(&current, &wanted);
        assert_eq!(result.added.len(), 1);
        assert_eq!(result.changed.len(), 1);
        assert_eq!(result.removed.len(), 1);
        assert_eq!(result.removed[0].after, Effect::Inherit);
    }
}
