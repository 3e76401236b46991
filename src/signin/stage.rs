//! Where a sign-in waits: the page the browser is sent to next. Stored in
//! `auth_requests.stage` under the names below.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The login page: any authentication method.
    Login,
    /// The second factor after a password (the person is known, not yet authenticated).
    Totp,
    /// The consent page: the portal, the data, approve or deny.
    Consent,
    /// A representative chooses the organisation they act for.
    Organisation,
    /// RFC 8628: the person approves or denies a device's request on `/device/confirm`.
    Device,
    /// The optional question after a sign-in: how was it (1–5)?
    Satisfaction,
}

impl Stage {
    pub const ALL: [Stage; 6] = [Stage::Login, Stage::Totp, Stage::Consent, Stage::Organisation, Stage::Device, Stage::Satisfaction];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Login => "login",
            Stage::Totp => "totp",
            Stage::Consent => "consent",
            Stage::Organisation => "organisation",
            Stage::Device => "device",
            Stage::Satisfaction => "satisfaction",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|stage| stage.as_str() == s)
    }

    /// The page that serves this stage.
    pub fn path(self) -> &'static str {
        match self {
            Stage::Login => "/login",
            Stage::Totp => "/login/totp",
            Stage::Consent => "/consent",
            Stage::Organisation => "/organisation",
            Stage::Device => "/device/confirm",
            Stage::Satisfaction => "/satisfaction",
        }
    }

    /// The page of a parked sign-in `id` at this stage.
    pub fn url(self, id: &str) -> String {
        format!("{}?r={id}", self.path())
    }
}

#[cfg(test)]
mod tests {
    use super::Stage;

    #[test]
    fn stored_names_are_todays_strings() {
        let names: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["login", "totp", "consent", "organisation", "device", "satisfaction"]);
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        assert_eq!(Stage::parse("Login"), None);
    }

    #[test]
    fn each_stage_has_its_page() {
        assert_eq!(Stage::Login.url("abc"), "/login?r=abc");
        assert_eq!(Stage::Device.url("abc"), "/device/confirm?r=abc");
    }
}
