//! The decision rule on a compiled snapshot: the same rule as
//! [`crate::decision::decide_as`], over tables a check can read without
//! hashing a name per subject.
//!
//! * Subjects are numbered once by a [`SubjectIds`] that every snapshot of
//!   a runtime shares, so a caller's subjects are resolved to numbers once
//!   (per user, per snapshot of the users), not once per call.
//! * Each service is compiled on its own ([`CompiledService`]): its methods
//!   numbered in a flat table of names, one row per subject holding its
//!   All Methods state and its method-level cells (up to two in the row,
//!   more as a slice of the service's one list). A check costs two name
//!   lookups (service, method) and, per subject, one integer lookup and a
//!   scan of a few packed cells.
//!
//! The answer is the one [`decide_as`](crate::decision::decide_as) gives
//! on the policy it was compiled from, reason included; the tests hold the
//! two together on the whole truth table and on random policies. Where a
//! snapshot outgrows what its tables can number (subjects past four
//! billion, methods past [`MAX_METHODS`], names or cells past four
//! gigabytes) the compiled answer is stricter: those subjects deny and
//! those methods are unknown, never allowed.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::decision::{Assignments, Decision, Effect, Policy, Scope, ServicePolicy, Subject};

/// A subject's number in one [`SubjectIds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectId(u32);

impl SubjectId {
    /// The number every subject past four billion shares: it denies
    /// everywhere, since it cannot tell its subjects apart.
    const EXHAUSTED: SubjectId = SubjectId(u32::MAX);
}

/// Numbers for subjects, handed out once and never reused, so a number
/// read from an older snapshot still names the same subject in a newer one.
#[derive(Debug, Default)]
pub struct SubjectIds {
    ids: HashMap<Subject, SubjectId>,
}

impl SubjectIds {
    /// The subject's number, a new one the first time it is asked for.
    pub fn intern(&mut self, subject: &Subject) -> SubjectId {
        if let Some(id) = self.ids.get(subject) {
            return *id;
        }
        // memory runs out long before four billion names; should it not,
        // every later subject shares the last number, which denies
        let id = SubjectId(u32::try_from(self.ids.len()).unwrap_or(SubjectId::EXHAUSTED.0));
        self.ids.insert(subject.clone(), id);
        id
    }

    /// The subject's number, if it has one.
    pub fn get(&self, subject: &Subject) -> Option<SubjectId> {
        self.ids.get(subject).copied()
    }

    /// The numbers of these subjects, in their order.
    pub fn resolve(&mut self, subjects: &[Subject]) -> Arc<[SubjectId]> {
        subjects
            .iter()
            .map(|subject| self.intern(subject))
            .collect()
    }

    /// How many subjects have a number.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// One subject's assignments in a compiled service, in 16 bytes: four
/// rows share a cache line. A subject's method-level cells are few (a
/// role's or a user's exceptions to its All Methods state), so up to two
/// are kept in the row itself and a check reads no other memory for it;
/// more are a slice of the service's flat list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    /// [`SubjectId::EXHAUSTED`] marks a vacant slot of [`Rows`].
    subject: SubjectId,
    /// How many method-level cells, and the All Methods state in the two
    /// low bits (see [`Row::all_methods`]).
    head: u32,
    /// Up to NEAR cells: the cells themselves; more: where they start in
    /// the service's list, in `near[0]`.
    near: [u32; NEAR],
}

/// The most cells a row keeps in itself.
const NEAR: usize = 2;
const _: () = assert!(
    NEAR >= 1,
    "a row with listed cells keeps their start in near[0]"
);

/// The most method-level cells a row counts (30 bits).
const MAX_ROW_CELLS: usize = (1 << 30) - 1;

impl Row {
    const VACANT: Row = Row {
        subject: SubjectId::EXHAUSTED,
        head: 0,
        near: [0; NEAR],
    };

    /// The row of `own` (packed and sorted), whose cells are at `start`
    /// of the service's list when they do not fit in the row. Cells the
    /// row cannot number (a list past four billion cells) make a row that
    /// denies every method of the service: stricter, never looser.
    fn new(subject: SubjectId, own: &[u32], start: usize, all_methods: Effect) -> Row {
        let code = match all_methods {
            Effect::Inherit => 0,
            Effect::Grant => 1,
            Effect::Deny => 2,
        };
        let mut near = [0; NEAR];
        if own.len() <= NEAR {
            near[..own.len()].copy_from_slice(own);
        } else {
            let end = start.checked_add(own.len());
            match u32::try_from(start) {
                Ok(start)
                    if own.len() <= MAX_ROW_CELLS
                        && end.is_some_and(|end| u32::try_from(end).is_ok()) =>
                {
                    near[0] = start;
                }
                _ => {
                    return Row {
                        subject,
                        head: 2,
                        near,
                    }
                }
            }
        }
        // at most MAX_ROW_CELLS (checked above when listed), so the
        // count fits its 30 bits
        let len = own.len() as u32;
        Row {
            subject,
            head: (len << 2) | code,
            near,
        }
    }

    fn len(&self) -> usize {
        (self.head >> 2) as usize
    }

    fn all_methods(&self) -> Effect {
        match self.head & 3 {
            0 => Effect::Inherit,
            1 => Effect::Grant,
            _ => Effect::Deny,
        }
    }

    /// Its method-level cells: in the row, or `cells[start..start + len]`;
    /// `None` when the list does not hold them (a broken snapshot, which
    /// denies).
    fn own<'a>(&'a self, cells: &'a [u32]) -> Option<&'a [u32]> {
        let len = self.len();
        if len <= NEAR {
            self.near.get(..len)
        } else {
            let start = self.near[0] as usize;
            cells.get(start..start.checked_add(len)?)
        }
    }

    /// The cells it keeps in the service's list (none when in the row).
    fn listed(&self) -> usize {
        if self.len() <= NEAR {
            0
        } else {
            self.len()
        }
    }
}

/// The size of an open-addressed table of `entries` kept at most half
/// full (a power of two), and the shift that takes a 64-bit hash's top
/// bits to a slot of it.
fn half_full(entries: usize) -> (usize, u32) {
    let size = (entries * 2).next_power_of_two();
    (size, 64 - size.trailing_zeros())
}

/// The rows of a service by subject number: open addressing with linear
/// probing over a table at most half full, so a lookup mostly reads one
/// cache line (a map of names, or a general hash map's separate control
/// bytes, read two or more). The numbers are handed out by this process,
/// never chosen by a caller, so a fixed multiplicative hash cannot be
/// steered into long probes.
#[derive(Debug, Clone, Default)]
struct Rows {
    slots: Vec<Row>,
    /// 64 minus the table's size in bits: the hash's top bits pick a slot.
    shift: u32,
}

impl Rows {
    fn with_rows(rows: Vec<Row>) -> Rows {
        if rows.is_empty() {
            return Rows::default();
        }
        let (size, shift) = half_full(rows.len());
        let mut table = Rows {
            slots: vec![Row::VACANT; size],
            shift,
        };
        // the shared number of subjects past four billion denies before
        // any row is looked up, and would read as a vacant slot
        for row in rows
            .into_iter()
            .filter(|row| row.subject != SubjectId::EXHAUSTED)
        {
            let mut at = table.home(row.subject);
            while table.slots[at].subject != SubjectId::EXHAUSTED {
                if table.slots[at].subject == row.subject {
                    break;
                }
                at = (at + 1) & (size - 1);
            }
            table.slots[at] = row;
        }
        table
    }

    /// The table with `row` in place of the subject's row (added if it had
    /// none); `None` when adding it would fill the table past half, when
    /// the table is empty, or for the number of subjects past four
    /// billion (which has no row): the service is then compiled anew.
    fn with_row(&self, row: Row) -> Option<Rows> {
        let size = self.slots.len();
        if size == 0 || row.subject == SubjectId::EXHAUSTED {
            return None;
        }
        let mut table = self.clone();
        let mut at = table.home(row.subject);
        loop {
            let taken = table.slots[at].subject;
            if taken == row.subject {
                break;
            }
            if taken == SubjectId::EXHAUSTED {
                let used = table
                    .slots
                    .iter()
                    .filter(|slot| slot.subject != SubjectId::EXHAUSTED)
                    .count();
                if (used + 1) * 2 > size {
                    return None;
                }
                break;
            }
            at = (at + 1) & (size - 1);
        }
        table.slots[at] = row;
        Some(table)
    }

    fn home(&self, subject: SubjectId) -> usize {
        // Fibonacci hashing: the top bits of the product
        (u64::from(subject.0).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn get(&self, subject: SubjectId) -> Option<&Row> {
        if self.slots.is_empty() || subject == SubjectId::EXHAUSTED {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(subject);
        loop {
            let row = &self.slots[at];
            if row.subject == subject {
                return Some(row);
            }
            if row.subject == SubjectId::EXHAUSTED {
                return None;
            }
            at = (at + 1) & mask;
        }
    }
}

/// A method-level cell packed in 32 bits: the method's number, then one
/// bit that is set for Deny (only Grant and Deny are stored).
fn pack(method: u32, effect: Effect) -> u32 {
    (method << 1) | u32::from(effect == Effect::Deny)
}

/// The largest number of methods a service can have compiled: a row
/// counts its cells in 30 bits.
const MAX_METHODS: usize = 1 << 29;

/// One slot of a [`MethodTable`]: the method's number (`u32::MAX`: vacant),
/// a tag from its name's hash and where its name is in the table's text.
#[derive(Debug, Clone, Copy)]
struct MethodSlot {
    tag: u32,
    number: u32,
    start: u32,
    len: u32,
}

impl MethodSlot {
    const VACANT: MethodSlot = MethodSlot {
        tag: 0,
        number: u32::MAX,
        start: 0,
        len: 0,
    };
}

/// Method numbers by name, for the lookup every call makes: open
/// addressing over 16-byte slots at most half full, and every name in one
/// text. A lookup mostly reads one slot and the name's bytes among its
/// neighbours', where a map of `String`s reads its control bytes, a
/// bucket and the key's own allocation, each a cache miss once the
/// snapshot outgrows the cache.
///
/// What keeps probes short: the names are a service's catalog, set by an
/// admin or an imported document and validated (at most 2,000 per
/// service); a caller chooses only the name looked up, whose probe ends
/// at the first vacant slot of a table at most half full; and the hash
/// (foldhash, seeded per table from the address space's randomization and
/// the clock) is not one a document's author can aim at. A tag that
/// matches is always confirmed by comparing the name itself.
#[derive(Debug, Clone, Default)]
struct MethodTable<S = foldhash::fast::RandomState> {
    slots: Arc<[MethodSlot]>,
    text: Arc<str>,
    hasher: S,
    /// 64 minus the table's size in bits: the hash's top bits pick a slot.
    shift: u32,
}

impl MethodTable {
    /// The table of `names`, each numbered by its place.
    fn new(names: &[String]) -> MethodTable {
        MethodTable::with_hasher(names, foldhash::fast::RandomState::default())
    }
}

impl<S: BuildHasher + Default> MethodTable<S> {
    /// The table of `names` hashed by `hasher`. A name whose place in the
    /// text would pass four gigabytes is left out: unknown, never allowed.
    fn with_hasher(names: &[String], hasher: S) -> MethodTable<S> {
        if names.is_empty() {
            return MethodTable::default();
        }
        let (size, shift) = half_full(names.len());
        let mut slots = vec![MethodSlot::VACANT; size];
        let mut text = String::new();
        for (name, number) in names.iter().zip(0_u32..) {
            let (Ok(start), Ok(len)) = (u32::try_from(text.len()), u32::try_from(name.len()))
            else {
                continue;
            };
            if start.checked_add(len).is_none() {
                continue;
            }
            let hash = hasher.hash_one(name.as_str());
            let mut at = (hash >> shift) as usize;
            while slots[at].number != u32::MAX {
                at = (at + 1) & (size - 1);
            }
            slots[at] = MethodSlot {
                tag: hash as u32,
                number,
                start,
                len,
            };
            text.push_str(name);
        }
        MethodTable {
            slots: slots.into(),
            text: text.into(),
            hasher,
            shift,
        }
    }

    fn get(&self, name: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one(name);
        let tag = hash as u32;
        let mask = self.slots.len() - 1;
        let mut at = (hash >> self.shift) as usize;
        loop {
            let slot = &self.slots[at];
            if slot.number == u32::MAX {
                return None;
            }
            if slot.tag == tag {
                let start = slot.start as usize;
                if self.text.get(start..start + slot.len as usize) == Some(name) {
                    return Some(slot.number);
                }
            }
            at = (at + 1) & mask;
        }
    }
}

/// One service of a compiled snapshot.
#[derive(Debug, Clone, Default)]
pub struct CompiledService {
    /// Method names by number (shared by the services patched from this one).
    names: Arc<[String]>,
    /// Method numbers by name (shared likewise).
    methods: MethodTable,
    rows: Rows,
    cells: Vec<u32>,
    /// Cells no row points at any more (left by [`CompiledService::with_subject`]).
    stale: usize,
}

/// A subject's method-level cells, packed and sorted by method.
fn method_cells(methods: &MethodTable, assignments: &Assignments) -> Vec<u32> {
    let mut cells: Vec<u32> = assignments
        .methods
        .iter()
        // a cell of a method the catalog lacks never decides (the method
        // is unknown) and Inherit is no cell
        .filter(|(_, effect)| **effect != Effect::Inherit)
        .filter_map(|(method, effect)| methods.get(method).map(|number| pack(number, *effect)))
        .collect();
    cells.sort_unstable();
    cells
}

impl CompiledService {
    /// The service's tables, numbering its subjects in `ids`.
    pub fn compile(service: &ServicePolicy, ids: &mut SubjectIds) -> CompiledService {
        let mut names: Vec<String> = service.methods.iter().take(MAX_METHODS).cloned().collect();
        names.sort();
        let methods = MethodTable::new(&names);
        let mut rows = Vec::with_capacity(service.assignments.len());
        let mut cells = Vec::new();
        for (subject, assignments) in &service.assignments {
            let id = ids.intern(subject);
            if id == SubjectId::EXHAUSTED {
                // denies before any row is looked up
                continue;
            }
            let own = method_cells(&methods, assignments);
            let row = Row::new(id, &own, cells.len(), assignments.all_methods);
            if row.listed() > 0 {
                cells.extend(own);
            }
            rows.push(row);
        }
        CompiledService {
            names: names.into(),
            methods,
            rows: Rows::with_rows(rows),
            cells,
            stale: 0,
        }
    }

    /// This service with one subject's assignments replaced (`None`:
    /// nothing assigned any more), the way a one-cell change needs it: the
    /// other rows and cells are copied as they are, the subject's cells
    /// added at the end. `None` when the service is better compiled again
    /// (its table would pass half full, or half its cells are stale).
    pub fn with_subject(
        &self,
        subject: SubjectId,
        assignments: Option<&Assignments>,
    ) -> Option<CompiledService> {
        let empty = Assignments::default();
        let assignments = assignments.unwrap_or(&empty);
        let own = method_cells(&self.methods, assignments);
        let replaced = self.rows.get(subject).map_or(0, Row::listed);
        let stale = self.stale + replaced;
        let row = Row::new(subject, &own, self.cells.len(), assignments.all_methods);
        let listed = row.listed();
        if stale * 2 > self.cells.len() + listed {
            return None;
        }
        let rows = self.rows.with_row(row)?;
        let mut cells = Vec::with_capacity(self.cells.len() + listed);
        cells.extend_from_slice(&self.cells);
        if listed > 0 {
            cells.extend(own);
        }
        Some(CompiledService {
            names: self.names.clone(),
            methods: self.methods.clone(),
            rows,
            cells,
            stale,
        })
    }

    /// A subject's state for one method and the scope it comes from: the
    /// most specific assignment wins.
    fn effective(&self, subject: SubjectId, method: u32) -> (Effect, bool) {
        if subject == SubjectId::EXHAUSTED {
            return (Effect::Deny, false);
        }
        let Some(row) = self.rows.get(subject) else {
            return (Effect::Inherit, false);
        };
        let Some(own) = row.own(&self.cells) else {
            return (Effect::Deny, false);
        };
        // a subject has a few method-level cells in a service: a scan of
        // packed numbers beats a search until there are many
        let found = if own.len() <= 16 {
            own.iter().find(|cell| *cell >> 1 == method).copied()
        } else {
            own.binary_search_by_key(&method, |cell| cell >> 1)
                .ok()
                .map(|at| own[at])
        };
        match found {
            // a method-level Grant or Deny overrides All Methods
            Some(cell) if cell & 1 == 1 => (Effect::Deny, true),
            Some(_) => (Effect::Grant, true),
            // nothing on the method: All Methods decides (which may be Inherit too)
            None => (row.all_methods(), false),
        }
    }

    /// The rule for one method of this service: `key` (the API key's role,
    /// with its number) goes first, then `subjects` with their numbers
    /// `ids` (the same length, in the same order).
    pub fn decide(
        &self,
        key: Option<(&Subject, SubjectId)>,
        subjects: &[Subject],
        ids: &[SubjectId],
        method: &str,
    ) -> Decision {
        let Some(number) = self.methods.get(method) else {
            return Decision::UnknownMethod;
        };
        if subjects.len() != ids.len() {
            // numbers that do not belong to these subjects decide nothing:
            // refused, never judged on part of the caller
            let subject = key.map_or_else(
                || {
                    subjects
                        .first()
                        .cloned()
                        .unwrap_or(Subject::Role(String::new()))
                },
                |(subject, _)| subject.clone(),
            );
            return Decision::Deny {
                subject,
                scope: Scope::AllMethods,
            };
        }
        let callers = key
            .into_iter()
            .chain(subjects.iter().zip(ids.iter().copied()));
        for (subject, id) in callers {
            match self.effective(id, number) {
                // one deny is enough, whatever the other subjects say
                (Effect::Deny, on_method) => {
                    return Decision::Deny {
                        subject: subject.clone(),
                        scope: if on_method {
                            Scope::Method(self.names[number as usize].clone())
                        } else {
                            Scope::AllMethods
                        },
                    }
                }
                // grant and inherit both leave the call to the other subjects
                (Effect::Grant | Effect::Inherit, _) => {}
            }
        }
        Decision::Allow {
            subjects: subjects.len() + usize::from(key.is_some()),
        }
    }
}

/// A whole policy compiled, service by service.
#[derive(Debug, Clone, Default)]
pub struct CompiledPolicy {
    pub services: HashMap<String, Arc<CompiledService>>,
}

impl CompiledPolicy {
    pub fn compile(policy: &Policy, ids: &mut SubjectIds) -> CompiledPolicy {
        CompiledPolicy {
            services: policy
                .services
                .iter()
                .map(|(name, service)| {
                    (
                        name.clone(),
                        Arc::new(CompiledService::compile(service, ids)),
                    )
                })
                .collect(),
        }
    }

    /// [`decide_as`](crate::decision::decide_as) on the compiled tables.
    pub fn decide(
        &self,
        key: Option<(&Subject, SubjectId)>,
        subjects: &[Subject],
        ids: &[SubjectId],
        service: &str,
        method: &str,
    ) -> Decision {
        match self.services.get(service) {
            Some(compiled) => compiled.decide(key, subjects, ids, method),
            None => Decision::UnknownService,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use crate::decision::decide_as;

    fn role(name: &str) -> Subject {
        Subject::Role(name.to_string())
    }

    #[test]
    fn subjects_without_their_numbers_are_refused() {
        let assignments = Assignments {
            all_methods: Effect::Grant,
            methods: HashMap::new(),
        };
        let service = ServicePolicy {
            methods: ["m".to_string()].into_iter().collect(),
            assignments: [(role("R"), assignments)].into_iter().collect(),
        };
        let mut ids = SubjectIds::default();
        let compiled = CompiledService::compile(&service, &mut ids);
        let subjects = [role("R"), role("Denied")];
        let numbers = ids.resolve(&subjects);
        assert!(compiled.decide(None, &subjects, &numbers, "m").is_allowed());
        assert!(!compiled
            .decide(None, &subjects, &numbers[..1], "m")
            .is_allowed());
        assert!(!compiled
            .decide(None, &subjects, &[SubjectId::EXHAUSTED; 2], "m")
            .is_allowed());
    }

    #[test]
    fn a_patched_subject_decides_as_a_service_compiled_anew() {
        let methods: Vec<String> = (0..12).map(|n| format!("m{n}")).collect();
        let subjects: Vec<Subject> = (0..9)
            .map(|n| role(&format!("R{n}")))
            .chain([Subject::User("u@example.com".to_string())])
            .collect();
        let mut service = ServicePolicy {
            methods: methods.iter().cloned().collect(),
            assignments: HashMap::new(),
        };
        let mut ids = SubjectIds::default();
        let mut compiled = CompiledService::compile(&service, &mut ids);
        let numbers = ids.resolve(&subjects);
        // a small deterministic walk over (subject, scope, effect)
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let (mut patched, mut compiled_anew) = (0, 0);
        for _ in 0..300 {
            let subject = &subjects[next(subjects.len())];
            let method = if next(4) == 0 {
                "*".to_string()
            } else {
                methods[next(methods.len())].clone()
            };
            let effect = [Effect::Grant, Effect::Deny, Effect::Inherit][next(3)];
            service.set(subject, &method, effect);
            compiled = match compiled
                .with_subject(ids.intern(subject), service.assignments.get(subject))
            {
                Some(next) => {
                    patched += 1;
                    next
                }
                None => {
                    compiled_anew += 1;
                    CompiledService::compile(&service, &mut ids)
                }
            };
            // the list holds the rows' cells and the stale ones, and is
            // compiled anew before half of it is stale
            let listed: usize = compiled
                .rows
                .slots
                .iter()
                .filter(|row| row.subject != SubjectId::EXHAUSTED)
                .map(Row::listed)
                .sum();
            assert_eq!(compiled.cells.len() - compiled.stale, listed);
            assert!(compiled.stale * 2 <= compiled.cells.len());
            let policy = Policy {
                services: [("s".to_string(), Arc::new(service.clone()))]
                    .into_iter()
                    .collect(),
            };
            for method in methods.iter().chain([&"absent".to_string()]) {
                for at in 0..subjects.len() {
                    // every caller of one to three subjects, in turn
                    let callers = &subjects[at..(at + 3).min(subjects.len())];
                    let own = &numbers[at..(at + 3).min(subjects.len())];
                    assert_eq!(
                        compiled.decide(None, callers, own, method),
                        decide_as(&policy, None, callers, "s", method),
                        "{callers:?} on {method}"
                    );
                }
            }
        }
        assert!(
            patched > 100 && compiled_anew > 2,
            "{patched} patched, {compiled_anew} anew"
        );
    }

    #[test]
    fn numbers_are_kept_and_never_reused() {
        let mut ids = SubjectIds::default();
        let a = ids.intern(&role("A"));
        let b = ids.intern(&Subject::User("a".to_string()));
        assert_ne!(a, b);
        assert_eq!(ids.intern(&role("A")), a);
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn many_method_cells_are_searched_as_well_as_scanned() {
        let methods: Vec<String> = (0..40).map(|n| format!("m{n:02}")).collect();
        let mut assignments = Assignments {
            all_methods: Effect::Grant,
            methods: HashMap::new(),
        };
        for (n, method) in methods.iter().enumerate() {
            if n % 3 == 0 {
                assignments.methods.insert(method.clone(), Effect::Deny);
            } else if n % 3 == 1 {
                assignments.methods.insert(method.clone(), Effect::Grant);
            }
        }
        let service = ServicePolicy {
            methods: methods.iter().cloned().collect(),
            assignments: [(role("R"), assignments)].into_iter().collect(),
        };
        let policy = Policy {
            services: [("s".to_string(), Arc::new(service))].into_iter().collect(),
        };
        let mut ids = SubjectIds::default();
        let compiled = CompiledPolicy::compile(&policy, &mut ids);
        let subjects = [role("R"), role("Other")];
        let numbers = ids.resolve(&subjects);
        for method in methods.iter().chain([&"absent".to_string()]) {
            assert_eq!(
                compiled.decide(None, &subjects, &numbers, "s", method),
                decide_as(&policy, None, &subjects, "s", method),
                "{method}"
            );
        }
    }

    /// Every name hashes alike: each lookup is decided by the names
    /// themselves, after probing past the table's end.
    #[derive(Debug, Clone, Default)]
    struct Colliding;

    struct Stuck;

    impl std::hash::Hasher for Stuck {
        fn finish(&self) -> u64 {
            u64::MAX
        }

        fn write(&mut self, _: &[u8]) {}
    }

    impl BuildHasher for Colliding {
        type Hasher = Stuck;

        fn build_hasher(&self) -> Stuck {
            Stuck
        }
    }

    #[test]
    fn method_names_are_compared_whatever_their_hashes() {
        let names: Vec<String> = ["e", "é", "e\u{301}", "ée", "", "m1", "m10"]
            .into_iter()
            .map(str::to_string)
            .collect();
        let table = MethodTable::with_hasher(&names, Colliding);
        for (name, number) in names.iter().zip(0_u32..) {
            assert_eq!(table.get(name), Some(number), "{name:?}");
        }
        for absent in ["ë", "e\u{300}", "E", "ée ", "m", "m100", "é\u{301}"] {
            assert_eq!(table.get(absent), None, "{absent:?}");
        }
        let seeded = MethodTable::new(&names);
        for (name, number) in names.iter().zip(0_u32..) {
            assert_eq!(seeded.get(name), Some(number), "{name:?}");
        }
        assert_eq!(seeded.get("ë"), None);
        assert_eq!(MethodTable::new(&[]).get("e"), None);
    }

    #[test]
    fn the_exhausted_number_has_no_row() {
        let row = |subject| Row::new(subject, &[pack(0, Effect::Grant)], 0, Effect::Grant);
        let rows = Rows::with_rows(vec![row(SubjectId::EXHAUSTED), row(SubjectId(3))]);
        assert!(rows.get(SubjectId::EXHAUSTED).is_none());
        assert!(rows.get(SubjectId(3)).is_some());
        assert!(rows.with_row(row(SubjectId::EXHAUSTED)).is_none());
        assert!(rows.with_row(row(SubjectId(4))).is_some());
        assert!(Rows::default().with_row(row(SubjectId(4))).is_none());
    }

    #[test]
    fn cells_a_row_cannot_find_deny() {
        let cells = [
            pack(0, Effect::Grant),
            pack(1, Effect::Grant),
            pack(2, Effect::Grant),
        ];
        // cells past what a row can number: the row denies everything
        let broken = Row::new(SubjectId(0), &cells, u32::MAX as usize, Effect::Grant);
        assert_eq!((broken.all_methods(), broken.len()), (Effect::Deny, 0));
        let names: Vec<String> = vec!["m0".into(), "m1".into(), "m2".into()];
        let service = |row: Row, cells: Vec<u32>| CompiledService {
            names: names.clone().into(),
            methods: MethodTable::new(&names),
            rows: Rows::with_rows(vec![row]),
            cells,
            stale: 0,
        };
        let subjects = [role("R")];
        let grants = service(
            Row::new(SubjectId(0), &cells, 0, Effect::Inherit),
            cells.to_vec(),
        );
        assert!(grants
            .decide(None, &subjects, &[SubjectId(0)], "m1")
            .is_allowed());
        // a list that lacks the row's cells (a snapshot broken some other
        // way) denies too
        let lost = service(
            Row::new(SubjectId(0), &cells, 0, Effect::Inherit),
            Vec::new(),
        );
        assert!(!lost
            .decide(None, &subjects, &[SubjectId(0)], "m1")
            .is_allowed());
        let broken = service(broken, cells.to_vec());
        assert!(!broken
            .decide(None, &subjects, &[SubjectId(0)], "m1")
            .is_allowed());
    }
}
