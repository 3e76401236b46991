//! What a sign-in is for, and what it has gathered so far: the parameters parked in
//! `auth_requests.params` while the person moves from page to page.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::assurance::Acr;
use crate::identity::acting_for::ActingFor;
use crate::protocol::claims_request::EssentialAcr;
use crate::protocol::request::AuthorizationRequest;
use crate::scope::Scopes;

/// Why the person signs in. Each journey carries exactly what its end needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// A portal's authorization request: the sign-in ends with a code sent to its redirect URI.
    Portal(Box<AuthorizationRequest>),
    /// RFC 8628: the person approves a device's request; the device polls for its tokens.
    Device { user_code: String, scopes: Scopes, acr_values: Option<String> },
    /// The person's own account page: no portal, no code; it ends back on `/account`.
    AccountPage {
        /// Straight to one upstream provider (to link it to the account).
        idp_hint: Option<String>,
        ui_locales: Option<String>,
    },
    /// The operator's console: like the account page, but at `urn:vn:eid:loa:2` or higher and
    /// ending on `/console`.
    Console { ui_locales: Option<String> },
}

/// The account page asks for no data.
static ACCOUNT_PAGE_SCOPES: LazyLock<Scopes> = LazyLock::new(|| Scopes::parse("openid"));

impl Purpose {
    /// The scopes the sign-in releases data for.
    pub fn scopes(&self) -> &Scopes {
        match self {
            Purpose::Portal(r) => &r.scopes,
            Purpose::Device { scopes, .. } => scopes,
            Purpose::AccountPage { .. } | Purpose::Console { .. } => &ACCOUNT_PAGE_SCOPES,
        }
    }

    /// The level the session must reach.
    pub fn required_acr(&self) -> Option<Acr> {
        match self {
            Purpose::Portal(r) => r.required_acr(),
            Purpose::Device { acr_values, .. } => acr_values.as_deref().and_then(Acr::minimum_of),
            Purpose::AccountPage { .. } => None,
            // Operators read people's data: a password alone is not enough.
            Purpose::Console { .. } => Some(Acr::Loa2),
        }
    }

    /// OIDC Core §3.1.2.1 `max_age`.
    pub fn max_age(&self) -> Option<i64> {
        match self {
            Purpose::Portal(r) => r.max_age,
            _ => None,
        }
    }

    /// An existing session is never reused: `prompt=login`, and the account page (which signs in
    /// only to make the session fresh, or to link an upstream account).
    pub fn forces_login(&self) -> bool {
        match self {
            Purpose::Portal(r) => r.prompt.login,
            Purpose::Device { .. } => false,
            Purpose::AccountPage { .. } | Purpose::Console { .. } => true,
        }
    }

    /// `prompt=none`: no page may be shown.
    pub fn silent(&self) -> bool {
        matches!(self, Purpose::Portal(r) if r.prompt.none)
    }

    /// `prompt=consent`: ask again, whatever was consented before.
    pub fn consent_prompted(&self) -> bool {
        matches!(self, Purpose::Portal(r) if r.prompt.consent)
    }

    pub fn essential_acr(&self) -> Option<EssentialAcr> {
        match self {
            Purpose::Portal(r) => r.essential_acr(),
            _ => None,
        }
    }

    pub fn login_hint(&self) -> Option<&str> {
        match self {
            Purpose::Portal(r) => r.login_hint.as_deref(),
            _ => None,
        }
    }

    pub fn idp_hint(&self) -> Option<&str> {
        match self {
            Purpose::Portal(r) => r.idp_hint.as_deref(),
            Purpose::AccountPage { idp_hint, .. } => idp_hint.as_deref(),
            Purpose::Device { .. } | Purpose::Console { .. } => None,
        }
    }

    pub fn ui_locales(&self) -> Option<&str> {
        match self {
            Purpose::Portal(r) => r.ui_locales.as_deref(),
            Purpose::AccountPage { ui_locales, .. } | Purpose::Console { ui_locales } => ui_locales.as_deref(),
            Purpose::Device { .. } => None,
        }
    }

    /// The account page links upstream accounts: the upstream must authenticate afresh, since
    /// its session may belong to someone else.
    pub fn is_account_page(&self) -> bool {
        matches!(self, Purpose::AccountPage { .. })
    }
}

/// A sign-in in progress, as parked between pages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignIn {
    pub purpose: Purpose,
    /// The existing session was too weak for the request's acr.
    pub step_up: bool,
    /// The organisation chosen on the organisation page.
    pub acting_for: Option<ActingFor>,
    /// Consent is settled for this sign-in: given on the consent page, covered by an earlier
    /// one, or (for a device) the request approved on the confirm page.
    pub consented: bool,
    /// The person authenticated during this sign-in (rather than through a session reused).
    #[serde(default)]
    pub authenticated: bool,
    /// The satisfaction question was answered or skipped in this sign-in.
    #[serde(default)]
    pub rated: bool,
}

impl SignIn {
    pub fn new(purpose: Purpose) -> Self {
        Self { purpose, step_up: false, acting_for: None, consented: false, authenticated: false, rated: false }
    }
}

/// Reads both today's form and the form written before sign-ins had a typed purpose, so that
/// sign-ins in progress survive a rolling upgrade.
impl<'de> Deserialize<'de> for SignIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Current {
            purpose: Purpose,
            #[serde(default)]
            step_up: bool,
            #[serde(default)]
            acting_for: Option<ActingFor>,
            #[serde(default)]
            consented: bool,
            #[serde(default)]
            authenticated: bool,
            #[serde(default)]
            rated: bool,
        }
        #[derive(Deserialize)]
        struct Earlier {
            request: AuthorizationRequest,
            step_up: bool,
            #[serde(default)]
            acting_for: Option<ActingFor>,
            #[serde(default)]
            device_user_code: Option<String>,
            #[serde(default)]
            account_page: bool,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Current(Current),
            Earlier(Box<Earlier>),
        }
        Ok(match Stored::deserialize(d)? {
            Stored::Current(c) => SignIn {
                purpose: c.purpose,
                step_up: c.step_up,
                acting_for: c.acting_for,
                consented: c.consented,
                authenticated: c.authenticated,
                rated: c.rated,
            },
            Stored::Earlier(e) => {
                let e = *e;
                let purpose = match (e.device_user_code, e.account_page) {
                    (Some(user_code), _) => Purpose::Device { user_code, scopes: e.request.scopes, acr_values: e.request.acr_values },
                    (None, true) => Purpose::AccountPage { idp_hint: e.request.idp_hint, ui_locales: e.request.ui_locales },
                    (None, false) => Purpose::Portal(Box::new(e.request)),
                };
                SignIn { purpose, step_up: e.step_up, acting_for: e.acting_for, consented: false, authenticated: false, rated: false }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> serde_json::Value {
        json!({
            "client_id": "demo-dvc", "redirect_uri": "http://localhost:9000/callback", "scopes": ["openid", "vn_org"],
            "state": "s", "nonce": "n", "code_challenge": "c", "prompt": {"none": false, "login": false, "consent": false},
            "max_age": null, "login_hint": null, "ui_locales": "en", "acr_values": "urn:vn:eid:loa:2"
        })
    }

    #[test]
    fn round_trips() {
        let req: AuthorizationRequest = serde_json::from_value(request()).unwrap();
        for purpose in [
            Purpose::Portal(Box::new(req)),
            Purpose::Device { user_code: "BCDFGHJK".into(), scopes: Scopes::parse("openid"), acr_values: None },
            Purpose::AccountPage { idp_hint: Some("vneid".into()), ui_locales: None },
        ] {
            let mut s = SignIn::new(purpose);
            s.consented = true;
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<SignIn>(&text).unwrap(), s);
        }
    }

    #[test]
    fn reads_sign_ins_parked_before_the_typed_purpose() {
        let portal: SignIn = serde_json::from_value(json!({"request": request(), "step_up": true})).unwrap();
        assert!(matches!(&portal.purpose, Purpose::Portal(r) if r.state.as_deref() == Some("s")));
        assert!(portal.step_up);
        let device: SignIn =
            serde_json::from_value(json!({"request": request(), "step_up": false, "device_user_code": "BCDFGHJK"})).unwrap();
        assert_eq!(
            device.purpose,
            Purpose::Device {
                user_code: "BCDFGHJK".into(),
                scopes: Scopes::parse("openid vn_org"),
                acr_values: Some("urn:vn:eid:loa:2".into())
            }
        );
        let account: SignIn = serde_json::from_value(json!({"request": request(), "step_up": false, "account_page": true})).unwrap();
        assert_eq!(account.purpose, Purpose::AccountPage { idp_hint: None, ui_locales: Some("en".into()) });
        assert!(serde_json::from_value::<SignIn>(json!({"step_up": false})).is_err());
    }

    #[test]
    fn each_purpose_answers_for_itself() {
        let account = Purpose::AccountPage { idp_hint: None, ui_locales: None };
        assert!(account.forces_login());
        assert_eq!(account.scopes(), &Scopes::parse("openid"));
        let device = Purpose::Device { user_code: "X".into(), scopes: Scopes::default(), acr_values: Some("urn:vn:eid:loa:2".into()) };
        assert_eq!(device.required_acr(), Some(Acr::Loa2));
        assert!(!device.forces_login() && !device.silent());
    }
}
