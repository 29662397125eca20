//! Generated policies of a given size, the same for every seed on every
//! machine: the benchmarks and the cross-engine tests load them. Pure, like
//! the decision rule; no IO.

use std::collections::HashMap;
use std::sync::Arc;

use crate::decision::{Assignments, Effect, Policy, ServicePolicy, Subject};

/// How big a generated application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub users: usize,
    pub roles: usize,
    pub services: usize,
    pub methods_per_service: usize,
}

impl Size {
    /// 10 users, 5 roles, 20 methods.
    pub const SMALL: Size = Size {
        users: 10,
        roles: 5,
        services: 2,
        methods_per_service: 10,
    };
    /// 1,000 users, 100 roles, 500 methods.
    pub const MEDIUM: Size = Size {
        users: 1_000,
        roles: 100,
        services: 10,
        methods_per_service: 50,
    };
    /// 10,000 users, 1,000 roles, 5,000 methods.
    pub const LARGE: Size = Size {
        users: 10_000,
        roles: 1_000,
        services: 50,
        methods_per_service: 100,
    };

    pub fn methods(&self) -> usize {
        self.services * self.methods_per_service
    }
}

/// One Grant or Deny (Inherit cells are not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub service: String,
    pub subject: Subject,
    /// `None` is All Methods.
    pub method: Option<String>,
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureUser {
    pub email: String,
    pub roles: Vec<String>,
}

/// A whole application: catalog, users with their roles, and every cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    pub services: Vec<(String, Vec<String>)>,
    pub roles: Vec<String>,
    pub users: Vec<FixtureUser>,
    pub cells: Vec<Cell>,
}

/// Roles each user holds, besides `AuthenticatedUser`.
pub const ROLES_PER_USER: usize = 3;

/// A small deterministic generator (xorshift64*), so a fixture needs no
/// dependency and is identical everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    fn grant_or_deny(&mut self) -> Effect {
        // denies are rarer than grants, as in real policies
        if self.percent(30) {
            Effect::Deny
        } else {
            Effect::Grant
        }
    }
}

pub fn service_name(index: usize) -> String {
    format!("svc{index:03}")
}

pub fn method_name(index: usize) -> String {
    format!("m{index:03}")
}

pub fn user_email(index: usize) -> String {
    format!("user{index:05}@fixture.test")
}

pub fn role_name(index: usize) -> String {
    format!("role{index:04}")
}

impl Fixture {
    /// The full permission set of an application of `size`: every role has
    /// an All-Methods cell on two services in three and a method cell on
    /// about one method in fifty; every user has cells on one service.
    pub fn generate(size: Size, seed: u64) -> Fixture {
        let mut rng = Rng::new(seed);
        let services: Vec<(String, Vec<String>)> = (0..size.services)
            .map(|s| {
                let methods = (0..size.methods_per_service).map(method_name).collect();
                (service_name(s), methods)
            })
            .collect();
        let roles: Vec<String> = (0..size.roles).map(role_name).collect();
        let users: Vec<FixtureUser> = (0..size.users)
            .map(|u| {
                let mut held: Vec<String> = Vec::with_capacity(ROLES_PER_USER);
                while held.len() < ROLES_PER_USER.min(roles.len()) {
                    let role = roles[rng.below(roles.len())].clone();
                    if !held.contains(&role) {
                        held.push(role);
                    }
                }
                held.sort();
                FixtureUser {
                    email: user_email(u),
                    roles: held,
                }
            })
            .collect();

        let mut cells = Vec::new();
        for (service, methods) in &services {
            for role in &roles {
                let subject = Subject::Role(role.clone());
                if rng.percent(66) {
                    cells.push(Cell {
                        service: service.clone(),
                        subject: subject.clone(),
                        method: None,
                        effect: rng.grant_or_deny(),
                    });
                }
                for method in methods {
                    if rng.percent(2) {
                        cells.push(Cell {
                            service: service.clone(),
                            subject: subject.clone(),
                            method: Some(method.clone()),
                            effect: rng.grant_or_deny(),
                        });
                    }
                }
            }
        }
        for user in &users {
            let (service, methods) = &services[rng.below(services.len())];
            let subject = Subject::User(user.email.clone());
            cells.push(Cell {
                service: service.clone(),
                subject: subject.clone(),
                method: None,
                effect: rng.grant_or_deny(),
            });
            for _ in 0..3 {
                cells.push(Cell {
                    service: service.clone(),
                    subject: subject.clone(),
                    method: Some(methods[rng.below(methods.len())].clone()),
                    effect: rng.grant_or_deny(),
                });
            }
        }
        // a repeated (service, subject, method) keeps its last effect, as a
        // database upsert would
        let mut seen = HashMap::new();
        for (index, cell) in cells.iter().enumerate() {
            seen.insert(
                (
                    cell.service.clone(),
                    cell.subject.clone(),
                    cell.method.clone(),
                ),
                index,
            );
        }
        let cells = cells
            .into_iter()
            .enumerate()
            .filter(|(index, cell)| {
                seen.get(&(
                    cell.service.clone(),
                    cell.subject.clone(),
                    cell.method.clone(),
                )) == Some(index)
            })
            .map(|(_, cell)| cell)
            .collect();
        Fixture {
            services,
            roles,
            users,
            cells,
        }
    }

    /// The policy the decision rule sees for this fixture.
    pub fn policy(&self) -> Policy {
        let mut services: HashMap<String, ServicePolicy> = HashMap::new();
        for (service, methods) in &self.services {
            services.insert(
                service.clone(),
                ServicePolicy {
                    methods: methods.iter().cloned().collect(),
                    assignments: Default::default(),
                },
            );
        }
        for cell in &self.cells {
            let Some(service) = services.get_mut(&cell.service) else {
                continue;
            };
            let assignments: &mut Assignments =
                service.assignments.entry(cell.subject.clone()).or_default();
            match &cell.method {
                None => assignments.all_methods = cell.effect,
                Some(method) => {
                    assignments.methods.insert(method.clone(), cell.effect);
                }
            }
        }
        Policy {
            services: services
                .into_iter()
                .map(|(name, service)| (name, Arc::new(service)))
                .collect(),
        }
    }

    /// A user's subjects at runtime: themself, `AuthenticatedUser`, their roles.
    pub fn subjects(&self, user: &FixtureUser) -> Vec<Subject> {
        let mut subjects = vec![
            Subject::User(user.email.clone()),
            Subject::Role(crate::roles::AUTHENTICATED.to_string()),
        ];
        subjects.extend(user.roles.iter().cloned().map(Subject::Role));
        subjects
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_fixture() {
        assert_eq!(
            Fixture::generate(Size::SMALL, 7),
            Fixture::generate(Size::SMALL, 7)
        );
        assert_ne!(
            Fixture::generate(Size::SMALL, 7),
            Fixture::generate(Size::SMALL, 8)
        );
    }

    #[test]
    fn a_fixture_has_the_size_it_names() {
        let fixture = Fixture::generate(Size::MEDIUM, 1);
        assert_eq!(fixture.users.len(), 1_000);
        assert_eq!(fixture.roles.len(), 100);
        let methods: usize = fixture.services.iter().map(|(_, m)| m.len()).sum();
        assert_eq!(methods, 500);
        assert!(fixture
            .users
            .iter()
            .all(|u| u.roles.len() == ROLES_PER_USER));
        let denies = fixture
            .cells
            .iter()
            .filter(|c| c.effect == Effect::Deny)
            .count();
        assert!(denies > 0 && denies < fixture.cells.len());
        // one cell per (service, subject, method)
        let policy = fixture.policy();
        let stored: usize = policy
            .services
            .values()
            .flat_map(|s| s.assignments.values())
            .map(|a| a.methods.len() + usize::from(a.all_methods != Effect::Inherit))
            .sum();
        assert_eq!(stored, fixture.cells.len());
    }
}
