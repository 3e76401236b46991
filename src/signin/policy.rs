//! The interaction policy: the one answer to "what does this sign-in still need?", asked when
//! it starts and again after every step (the login methods, the consent, organisation and
//! device pages). A pure function of what the sign-in is for and what is known so far, so that
//! every rule about the order of pages lives here and nowhere else.

use super::purpose::SignIn;
use super::stage::Stage;
use crate::identity::acting_for;
use crate::protocol::claims_request::EssentialAcr;
use crate::protocol::error::ErrorCode;

/// What is known about the sign-in beyond its parked parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The browser's session belongs to this sign-in: fit to reuse at the start, or made by a
    /// method during it.
    pub authenticated: bool,
    /// A consent already given to this portal covers the scopes (and was not to be asked again).
    pub consent_on_record: bool,
    /// The person is due the satisfaction question (it is on, and they were not asked within
    /// its period).
    pub satisfaction_due: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A page: sign in, consent, choose an organisation, confirm a device.
    Ask(Stage),
    /// Nothing left to ask: the code, the device approval, or back to the account page.
    Done,
    /// The sign-in cannot go on without a page it may not show, or ever reach its goal; the
    /// portal is told (OIDC Core §3.1.2.6).
    Refuse(ErrorCode, &'static str),
}

pub fn next(s: &SignIn, facts: Facts) -> Next {
    let purpose = &s.purpose;
    if purpose.essential_acr() == Some(EssentialAcr::Unmeetable) {
        return Next::Refuse(ErrorCode::AccessDenied, "the essential acr cannot be met");
    }
    let ask = |stage: Stage, code: ErrorCode, why: &'static str| {
        if purpose.silent() { Next::Refuse(code, why) } else { Next::Ask(stage) }
    };
    if !facts.authenticated {
        return ask(Stage::Login, ErrorCode::LoginRequired, "the person must sign in");
    }
    match purpose {
        super::Purpose::AccountPage { .. } | super::Purpose::Console { .. } => return Next::Done,
        // RFC 8628 §5.4: the person must see which portal the device speaks for, every time.
        super::Purpose::Device { .. } if !s.consented => return Next::Ask(Stage::Device),
        super::Purpose::Portal(_) if !s.consented && !facts.consent_on_record => {
            return ask(Stage::Consent, ErrorCode::ConsentRequired, "consent is required");
        }
        _ => {}
    }
    if acting_for::needs_choice(purpose.scopes(), s.acting_for.as_ref()) {
        return ask(Stage::Organisation, ErrorCode::InteractionRequired, "the person must choose an organisation");
    }
    // Last, and only where a page is shown anyway: after a sign-in at a portal in which the
    // person authenticated. Never a reason to refuse, never for a single sign-on reuse.
    if facts.satisfaction_due && s.authenticated && !s.rated && !purpose.silent() && matches!(purpose, super::Purpose::Portal(_)) {
        return Next::Ask(Stage::Satisfaction);
    }
    Next::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::RepresentativeRole;
    use crate::identity::acting_for::ActingFor;
    use crate::protocol::request::{AuthorizationRequest, Prompt};
    use crate::scope::Scopes;
    use crate::signin::Purpose;

    fn portal(scopes: &[&str], prompt: Prompt, claims: Option<&str>) -> SignIn {
        SignIn::new(Purpose::Portal(Box::new(AuthorizationRequest {
            client_id: "p".into(),
            redirect_uri: "https://p.example/cb".into(),
            scopes: Scopes::parse(&scopes.join(" ")),
            state: None,
            nonce: None,
            code_challenge: "c".into(),
            prompt,
            max_age: None,
            login_hint: None,
            ui_locales: None,
            acr_values: None,
            claims: claims.map(|c| crate::protocol::claims_request::ClaimsRequest::parse(c).unwrap()),
            dpop_jkt: None,
            idp_hint: None,
        })))
    }

    const NOBODY: Facts = Facts { authenticated: false, consent_on_record: false, satisfaction_due: false };
    const FRESH: Facts = Facts { authenticated: true, consent_on_record: false, satisfaction_due: false };
    const KNOWN: Facts = Facts { authenticated: true, consent_on_record: true, satisfaction_due: false };
    const DUE: Facts = Facts { satisfaction_due: true, ..KNOWN };

    #[test]
    fn a_portal_sign_in_walks_login_consent_organisation() {
        let mut s = portal(&["openid", "vn_org"], Prompt::default(), None);
        assert_eq!(next(&s, NOBODY), Next::Ask(Stage::Login));
        assert_eq!(next(&s, FRESH), Next::Ask(Stage::Consent));
        assert_eq!(next(&s, KNOWN), Next::Ask(Stage::Organisation));
        s.consented = true;
        assert_eq!(next(&s, FRESH), Next::Ask(Stage::Organisation));
        s.acting_for = Some(ActingFor {
            code: "0100109106".into(),
            name: "X".into(),
            role: RepresentativeRole::LegalRepresentative,
            kind: "enterprise".into(),
        });
        assert_eq!(next(&s, FRESH), Next::Done);
    }

    #[test]
    fn the_satisfaction_question_comes_last_and_only_after_a_fresh_sign_in_at_a_portal() {
        let mut s = portal(&["openid", "vn_org"], Prompt::default(), None);
        // A single sign-on reuse is never asked.
        assert_eq!(next(&s, KNOWN), Next::Ask(Stage::Organisation));
        s.authenticated = true;
        assert_eq!(next(&s, DUE), Next::Ask(Stage::Organisation));
        s.acting_for = Some(ActingFor {
            code: "0100109106".into(),
            name: "X".into(),
            role: RepresentativeRole::LegalRepresentative,
            kind: "enterprise".into(),
        });
        assert_eq!(next(&s, DUE), Next::Ask(Stage::Satisfaction));
        assert_eq!(next(&s, KNOWN), Next::Done);
        s.rated = true;
        assert_eq!(next(&s, DUE), Next::Done);
        let mut sso = portal(&["openid"], Prompt::default(), None);
        assert_eq!(next(&sso, DUE), Next::Done);
        // Never for a silent request, the account page, the console or a device.
        sso.authenticated = true;
        let mut silent = portal(&["openid"], Prompt { none: true, ..Prompt::default() }, None);
        silent.authenticated = true;
        assert_eq!(next(&silent, DUE), Next::Done);
        assert_eq!(next(&sso, DUE), Next::Ask(Stage::Satisfaction));
        for purpose in [
            Purpose::AccountPage { idp_hint: None, ui_locales: None },
            Purpose::Console { ui_locales: None },
            Purpose::Device { user_code: "BCDFGHJK".into(), scopes: Scopes::parse("openid"), acr_values: None },
        ] {
            let mut other = SignIn::new(purpose);
            other.authenticated = true;
            other.consented = true;
            assert_eq!(next(&other, DUE), Next::Done);
        }
    }

    #[test]
    fn sso_with_consent_on_record_needs_nothing() {
        assert_eq!(next(&portal(&["openid", "profile"], Prompt::default(), None), KNOWN), Next::Done);
    }

    #[test]
    fn prompt_consent_asks_again() {
        let s = portal(&["openid"], Prompt { consent: true, ..Prompt::default() }, None);
        // The consent on record does not count; a consent given in this sign-in does.
        assert_eq!(next(&s, FRESH), Next::Ask(Stage::Consent));
        let mut given = s.clone();
        given.consented = true;
        assert_eq!(next(&given, FRESH), Next::Done);
    }

    #[test]
    fn prompt_none_refuses_instead_of_asking() {
        let none = Prompt { none: true, ..Prompt::default() };
        assert_eq!(
            next(&portal(&["openid"], none.clone(), None), NOBODY),
            Next::Refuse(ErrorCode::LoginRequired, "the person must sign in")
        );
        assert_eq!(next(&portal(&["openid"], none.clone(), None), FRESH), Next::Refuse(ErrorCode::ConsentRequired, "consent is required"));
        assert_eq!(
            next(&portal(&["openid", "vn_org"], none, None), KNOWN),
            Next::Refuse(ErrorCode::InteractionRequired, "the person must choose an organisation")
        );
    }

    #[test]
    fn an_unmeetable_essential_acr_is_refused_first() {
        let s = portal(&["openid"], Prompt::default(), Some(r#"{"id_token":{"acr":{"essential":true,"values":["urn:example:unknown"]}}}"#));
        assert_eq!(next(&s, NOBODY), Next::Refuse(ErrorCode::AccessDenied, "the essential acr cannot be met"));
    }

    #[test]
    fn a_device_is_always_confirmed_then_may_choose_an_organisation() {
        let mut s = SignIn::new(Purpose::Device { user_code: "BCDFGHJK".into(), scopes: Scopes::parse("openid vn_org"), acr_values: None });
        assert_eq!(next(&s, NOBODY), Next::Ask(Stage::Login));
        assert_eq!(next(&s, KNOWN), Next::Ask(Stage::Device));
        s.consented = true;
        assert_eq!(next(&s, KNOWN), Next::Ask(Stage::Organisation));
    }

    #[test]
    fn the_account_page_only_needs_a_sign_in() {
        let s = SignIn::new(Purpose::AccountPage { idp_hint: None, ui_locales: None });
        assert_eq!(next(&s, NOBODY), Next::Ask(Stage::Login));
        assert_eq!(next(&s, FRESH), Next::Done);
    }
}
