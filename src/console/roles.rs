//! The operators' roles: each console page and action needs one.

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Finds people, looks at their account, locks and unlocks it.
    Helpdesk,
    /// Registers, edits, disables and deletes portals; rotates their secrets.
    PortalAdmin,
    /// Reads and exports the audit log, verifies its chain.
    Auditor,
    /// Reads the anonymised statistics.
    Statistician,
    /// Grants and revokes roles.
    SecurityAdmin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Helpdesk, Role::PortalAdmin, Role::Auditor, Role::Statistician, Role::SecurityAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Helpdesk => "helpdesk",
            Role::PortalAdmin => "portal_admin",
            Role::Auditor => "auditor",
            Role::Statistician => "statistician",
            Role::SecurityAdmin => "security_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The key of the role's name in the pages' texts.
    pub fn label_key(self) -> String {
        format!("console.role.{}", self.as_str())
    }
}
