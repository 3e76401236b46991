//! Who performs an operator action, as the audit log names them.

use crate::identity::PersonId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A machine, through the admin API, by its operator token's name.
    Token(String),
    /// Whoever runs `nixa` on the server.
    CommandLine,
    /// A person signed in to the console (by their internal id: never their personal ID).
    Person(PersonId),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Token(name) => name.clone(),
            Actor::CommandLine => "command line".into(),
            Actor::Person(id) => format!("person:{}", id.as_str()),
        }
    }
}
