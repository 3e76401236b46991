//! Brokered sign-in (DESIGN §1): the hub is a relying party to upstream identity providers.
//! The person picks an upstream on the login page (or the portal names one with `idp_hint`),
//! signs in there, and comes back with a code; the upstream ID token is fully validated
//! (iss, aud, azp, signature, exp/iat, nonce, at_hash), its `acr` is mapped to ours and capped
//! by the upstream's trust level, and the upstream account reaches a person only through a link
//! made on a verified personal ID — never on e-mail.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use serde_json::{Map, Value, json};

use crate::assurance::Amr;
use crate::audit::{self, Event};
use crate::crypto::{ct_eq, random_token, token_hash};
use crate::federation::config::{self, FirstSignIn, Upstream};
use crate::federation::{Provider, UpstreamError, acr, error_chain};
use crate::identity::person::parse_date;
use crate::identity::{AccountLevel, Person, PersonId, PersonStatus, PersonalId};
use crate::signin::journey::{self, Authentication};
use crate::signin::pending::load;
use crate::signin::{Pending, Stage, session};
use crate::state::App;
use crate::store::upstream::UpstreamLogin;
use crate::web::cookies;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::lang::page_locale;

pub const CALLBACK_PATH: &str = "/login/upstream/callback";

impl UpstreamError {
    /// The reason recorded in the audit log and the message shown to the person.
    fn describe(&self) -> (&'static str, &'static str, StatusCode) {
        match self {
            UpstreamError::Unknown => ("unknown_upstream", "upstream.error.unknown", StatusCode::NOT_FOUND),
            UpstreamError::Unreachable(_) => ("unreachable", "upstream.error.unreachable", StatusCode::BAD_GATEWAY),
            UpstreamError::Refused(_) => ("refused", "upstream.error.refused", StatusCode::BAD_GATEWAY),
            UpstreamError::BadToken(_) => ("bad_token", "upstream.error.bad_token", StatusCode::BAD_GATEWAY),
            UpstreamError::NoPersonalId => ("no_personal_id", "upstream.error.no_personal_id", StatusCode::FORBIDDEN),
            UpstreamError::Unverified => ("personal_id_unverified", "upstream.error.unverified", StatusCode::FORBIDDEN),
            UpstreamError::NoAccount => ("no_account", "upstream.error.no_account", StatusCode::FORBIDDEN),
            UpstreamError::NotTrusted => ("not_trusted", "upstream.error.not_linked", StatusCode::FORBIDDEN),
            UpstreamError::Inactive => ("inactive", "login.error.inactive", StatusCode::FORBIDDEN),
            UpstreamError::OtherAccount => ("other_account", "upstream.error.other_account", StatusCode::FORBIDDEN),
            UpstreamError::Store(_) | UpstreamError::Seal(_) | UpstreamError::Http(_) => {
                ("internal", "error.internal", StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

fn callback_url(app: &App) -> String {
    app.settings.url(CALLBACK_PATH)
}

/// Records the failure and shows the person what happened, in their language.
async fn failed(app: &App, locale: crate::web::i18n::Locale, upstream: &str, client: Option<&str>, e: &UpstreamError) -> Response {
    let (reason, key, status) = e.describe();
    tracing::warn!(upstream, reason, error = %e, "brokered sign-in failed");
    let detail = json!({"upstream": upstream, "reason": reason});
    if let Err(err) = audit::record(&app.store, app.now(), Event::UpstreamFailed, None, client, detail).await {
        return PageError::internal(locale, err).into_response();
    }
    PageError::new(status, locale, key).into_response()
}

/// `GET /login/upstream/{id}?r=…`: sends the browser to the upstream's authorization endpoint.
pub async fn start(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(q): RawQuery,
) -> Response {
    let q = Params::from_query(&q);
    let pending = match load(&app, &headers, &jar, q.get("r"), Stage::Login, q.get("lang")).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    redirect_to(&app, &pending, &id).await
}

/// Starts the upstream leg of a parked sign-in (also used for `idp_hint`).
pub async fn redirect_to(app: &App, pending: &Pending, upstream_id: &str) -> Response {
    match begin(app, pending, upstream_id).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => failed(app, pending.locale, upstream_id, Some(pending.client.id.as_str()), &e).await,
    }
}

async fn begin(app: &App, pending: &Pending, upstream_id: &str) -> Result<String, UpstreamError> {
    let p = app.federation.get(upstream_id).ok_or(UpstreamError::Unknown)?;
    let now = app.now();
    let metadata = p.metadata(now).await?;
    let redirect = RedirectUrl::new(callback_url(app)).map_err(|e| UpstreamError::Http(e.to_string()))?;
    // OIDC Core §5.5.1.1: acr and amr are asked for explicitly; some providers (oidc-provider)
    // release them only then.
    let ask_acr = metadata.claims_parameter_supported() == Some(true);
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.cfg.client_id.clone()),
        p.cfg.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect);
    let state = random_token();
    let nonce = random_token();
    let mut req = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        {
            let s = state.clone();
            move || CsrfToken::new(s)
        },
        {
            let n = nonce.clone();
            move || Nonce::new(n)
        },
    );
    // A fresh authentication upstream when the portal asked for one here, and when linking from
    // the account page (the upstream session may belong to someone else).
    if pending.sign_in.purpose.forces_login() {
        req = req.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
    }
    if ask_acr {
        req = req.add_extra_param("claims", r#"{"id_token":{"acr":null,"amr":null}}"#);
    }
    // The portal's required level is passed on; whatever comes back is still capped.
    if let Some(required) = pending.sign_in.purpose.required_acr() {
        req = req.add_extra_param("acr_values", required.as_uri());
    }
    for s in p.cfg.scopes.iter().filter(|s| *s != "openid") {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let state_hash = token_hash(&state);
    let verifier = if p.cfg.pkce {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        req = req.set_pkce_challenge(challenge);
        verifier.secret().clone()
    } else {
        String::new()
    };
    let (url, _, _) = req.url();
    let login = UpstreamLogin {
        pkce_verifier: app.settings.master_key.seal(&format!("upstream-pkce:{state_hash}"), verifier.as_bytes())?,
        state_hash,
        pending_id: pending.row.id.clone(),
        upstream_id: p.cfg.id.clone(),
        browser_hash: token_hash(&pending.browser),
        nonce,
        expires_at: now + app.settings.sign_in_ttl,
    };
    app.store.insert_upstream_login(&login).await?;
    Ok(url.to_string())
}

/// What a validated upstream sign-in says about the person.
struct Asserted {
    subject: String,
    acr: Option<String>,
    amr: Vec<String>,
    /// ID token claims over UserInfo claims.
    claims: Map<String, Value>,
    id_token: String,
}

/// `GET /login/upstream/callback?state=…&code=…` (or `error=…`).
pub async fn callback(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let fallback = page_locale(app.settings.default_locale, &headers, &jar, None, None);
    let Some(state) = q.get("state").filter(|s| s.len() <= 128) else {
        return PageError::expired(fallback).into_response();
    };
    let login = match app.store.take_upstream_login(&token_hash(state), app.now()).await {
        Ok(Some(l)) => l,
        Ok(None) => return PageError::expired(fallback).into_response(),
        Err(e) => return PageError::internal(fallback, e).into_response(),
    };
    let browser = jar.get(cookies::BROWSER).map(|c| c.value().to_string()).unwrap_or_default();
    if !ct_eq(token_hash(&browser).as_bytes(), login.browser_hash.as_bytes()) {
        return PageError::expired(fallback).into_response();
    }
    let pending = match load(&app, &headers, &jar, Some(&login.pending_id), Stage::Login, None).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let client_id = pending.client.id.as_str().to_string();
    if let Some(err) = q.get("error") {
        let e = UpstreamError::Refused(err.chars().take(64).collect());
        return failed(&app, pending.locale, &login.upstream_id, Some(&client_id), &e).await;
    }
    let code = q.get("code").unwrap_or_default().to_string();
    let result = finish_upstream(&app, &login, code).await;
    let (provider, asserted) = match result {
        Ok(v) => v,
        Err(e) => return failed(&app, pending.locale, &login.upstream_id, Some(&client_id), &e).await,
    };
    match sign_in(&app, jar, pending, &provider.cfg, asserted).await {
        Ok(r) => r,
        Err((locale, e)) => failed(&app, locale, &login.upstream_id, Some(&client_id), &e).await,
    }
}

async fn finish_upstream(app: &App, login: &UpstreamLogin, code: String) -> Result<(Arc<Provider>, Asserted), UpstreamError> {
    let p = app.federation.get(&login.upstream_id).ok_or(UpstreamError::Unknown)?;
    let asserted = redeem(app, &p, login, code).await;
    if matches!(asserted, Err(UpstreamError::BadToken(_))) {
        // The upstream may have rotated its keys: the next sign-in discovers them again.
        p.forget_metadata().await;
    }
    Ok((p.clone(), asserted?))
}

async fn redeem(app: &App, p: &Provider, login: &UpstreamLogin, code: String) -> Result<Asserted, UpstreamError> {
    if code.is_empty() || code.len() > 2048 {
        return Err(UpstreamError::Refused("no code".into()));
    }
    let metadata = p.metadata(app.now()).await?;
    let userinfo_endpoint = metadata.userinfo_endpoint().map(|u| u.url().clone());
    let redirect = RedirectUrl::new(callback_url(app)).map_err(|e| UpstreamError::Http(e.to_string()))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.cfg.client_id.clone()),
        p.cfg.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(redirect);
    let verifier = app.settings.master_key.open(&format!("upstream-pkce:{}", login.state_hash), &login.pkce_verifier)?;
    let verifier = String::from_utf8(verifier).map_err(|e| UpstreamError::Http(e.to_string()))?;
    let mut req = client.exchange_code(AuthorizationCode::new(code)).map_err(|e| UpstreamError::Refused(e.to_string()))?;
    if !verifier.is_empty() {
        req = req.set_pkce_verifier(PkceCodeVerifier::new(verifier));
    }
    if p.cfg.client_auth == config::ClientAuth::PrivateKeyJwt {
        req = req
            .add_extra_param("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            .add_extra_param("client_assertion", client_assertion(app, &p.cfg)?);
    }
    let tokens = p
        .bounded("token", async {
            req.request_async(&crate::federation::Traced(&p.http)).await.map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => UpstreamError::Refused(r.error().to_string()),
                openidconnect::RequestTokenError::Request(r) => UpstreamError::Unreachable(error_chain(&r)),
                other => UpstreamError::BadToken(error_chain(&other)),
            })
        })
        .await?;
    let id_token: &CoreIdToken = tokens.id_token().ok_or_else(|| UpstreamError::BadToken("no id_token".into()))?;
    let verifier = client.id_token_verifier();
    let nonce = Nonce::new(login.nonce.clone());
    let claims = id_token.claims(&verifier, &nonce).map_err(|e| UpstreamError::BadToken(error_chain(&e)))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| UpstreamError::BadToken(e.to_string()))?;
        let key = id_token.signing_key(&verifier).map_err(|e| UpstreamError::BadToken(e.to_string()))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key).map_err(|e| UpstreamError::BadToken(e.to_string()))?;
        if !ct_eq(actual.as_bytes(), expected.as_bytes()) {
            return Err(UpstreamError::BadToken("at_hash does not match the access token".into()));
        }
    }
    let subject = claims.subject().as_str().to_string();
    let acr = claims.auth_context_ref().map(|a| a.as_str().to_string());
    let amr = claims.auth_method_refs().map(|v| v.iter().map(|a| a.as_str().to_string()).collect()).unwrap_or_default();
    let raw = id_token.to_string();
    // The signature over these bytes was checked above; here only the claims beyond the
    // standard ones are read.
    let mut merged = Map::new();
    if let Some(endpoint) = userinfo_endpoint {
        let info = userinfo(p, &endpoint, tokens.access_token().secret()).await?;
        if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
            return Err(UpstreamError::BadToken("UserInfo sub differs from the ID token".into()));
        }
        merged.extend(info);
    }
    merged.extend(jwt_claims(&raw)?);
    Ok(Asserted { subject, acr, amr, claims: merged, id_token: raw })
}

/// RFC 7523 §2.2: `iss` = `sub` = our client id at the upstream, `aud` = its issuer, short-lived,
/// signed with our current ES256 key (published in our JWKS).
fn client_assertion(app: &App, cfg: &Upstream) -> Result<String, UpstreamError> {
    let now = app.now();
    let claims = json!({
        "iss": cfg.client_id, "sub": cfg.client_id, "aud": cfg.issuer_str(),
        "jti": random_token(), "iat": now, "exp": now + 60,
    });
    let signer = app.keys.signer(crate::keys::Alg::ES256).map_err(|e| UpstreamError::Http(e.to_string()))?;
    signer.sign_jwt("JWT", &claims).map_err(|e| UpstreamError::Http(e.to_string()))
}

async fn userinfo(p: &Provider, endpoint: &url::Url, access_token: &str) -> Result<Map<String, Value>, UpstreamError> {
    p.bounded("userinfo", async {
        let res = p
            .http
            .get(endpoint.clone())
            .bearer_auth(access_token)
            .header("accept", "application/json")
            .headers(crate::trace::outbound_headers())
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(error_chain(&e)))?;
        if !res.status().is_success() {
            return Err(UpstreamError::Refused(format!("userinfo answered {}", res.status())));
        }
        let v: Value = res.json().await.map_err(|e| UpstreamError::BadToken(format!("userinfo: {e}")))?;
        match v {
            Value::Object(m) => Ok(m),
            _ => Err(UpstreamError::BadToken("userinfo is not a JSON object".into())),
        }
    })
    .await
}

fn jwt_claims(jwt: &str) -> Result<Map<String, Value>, UpstreamError> {
    let bad = || UpstreamError::BadToken("unreadable ID token payload".into());
    let payload = jwt.split('.').nth(1).ok_or_else(bad)?;
    let bytes = crate::crypto::b64url_decode(payload).ok_or_else(bad)?;
    match serde_json::from_slice(&bytes).map_err(|_| bad())? {
        Value::Object(m) => Ok(m),
        _ => Err(bad()),
    }
}

fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// `YYYY-MM-DD` (OIDC), the national hub's `YYYYMMDD` (DESIGN §4), or `DD/MM/YYYY`.
fn birthdate_of(text: &str) -> Option<time::Date> {
    parse_date(text)
        .or_else(|| time::Date::parse(text, time::macros::format_description!("[year][month][day]")).ok())
        .or_else(|| time::Date::parse(text, time::macros::format_description!("[day]/[month]/[year]")).ok())
}

/// Finds (or, per policy, creates) the person for an upstream account. `expected`: linking from
/// the account page, where the upstream must identify the signed-in person and nobody else.
async fn resolve_person(
    app: &App,
    cfg: &Upstream,
    a: &Asserted,
    client_id: &str,
    expected: Option<&PersonId>,
) -> Result<Person, UpstreamError> {
    let now = app.now();
    if let Some(person_id) = app.store.upstream_link(&cfg.id, &a.subject).await? {
        if expected.is_some_and(|e| *e != person_id) {
            return Err(UpstreamError::OtherAccount);
        }
        app.store.touch_upstream_link(&cfg.id, &a.subject, now).await?;
        return app.store.person(&person_id).await?.ok_or(UpstreamError::NoAccount);
    }
    if !cfg.trust_personal_id {
        return Err(UpstreamError::NotTrusted);
    }
    let pid = claim_str(&a.claims, &cfg.claims.personal_id).and_then(|s| PersonalId::parse(s).ok()).ok_or(UpstreamError::NoPersonalId)?;
    let verified = match &cfg.personal_id_verified_claim {
        Some(name) => matches!(a.claims.get(name), Some(Value::Bool(true))) || claim_str(&a.claims, name) == Some("true"),
        None => true,
    };
    if !verified {
        return Err(UpstreamError::Unverified);
    }
    let person = match app.store.person_for_login(&pid).await? {
        Some((p, _)) => p,
        // Linking from the account page never creates another account.
        None if expected.is_some() => return Err(UpstreamError::OtherAccount),
        None if cfg.first_sign_in == FirstSignIn::Create => create_person(app, cfg, a, pid).await?,
        None => return Err(UpstreamError::NoAccount),
    };
    if expected.is_some_and(|e| *e != person.id) {
        return Err(UpstreamError::OtherAccount);
    }
    // No link (and no audit of one) for an account that cannot sign in.
    if person.status != PersonStatus::Active {
        return Err(UpstreamError::Inactive);
    }
    if app.store.link_upstream(&cfg.id, &a.subject, &person.id, now).await? {
        let detail = json!({"upstream": cfg.id});
        audit::record(&app.store, now, Event::UpstreamLinked, Some(&person.id), Some(client_id), detail).await?;
    }
    Ok(person)
}

async fn create_person(app: &App, cfg: &Upstream, a: &Asserted, pid: PersonalId) -> Result<Person, UpstreamError> {
    let name = claim_str(&a.claims, &cfg.claims.name).unwrap_or_default();
    let words: Vec<&str> = name.split_whitespace().collect();
    let (family, middle, given) = match words.as_slice() {
        [] => (String::new(), String::new(), String::new()),
        [one] => (String::new(), String::new(), one.to_string()),
        [first, rest @ .., last] => (first.to_string(), rest.join(" "), last.to_string()),
    };
    let birthdate = claim_str(&a.claims, &cfg.claims.birthdate).and_then(birthdate_of);
    let mut person = Person {
        id: PersonId::generate(),
        personal_id: pid,
        family_name: family,
        middle_name: middle,
        given_name: given,
        birthdate,
        sex: None,
        nationality: "VN".into(),
        address: None,
        phone: None,
        email: None,
        // An account made from an upstream's word is a level-1 account until registered in person.
        account_level: AccountLevel::Level1,
        status: PersonStatus::Active,
    };
    person.id = app.store.upsert_person(&person, app.now()).await?;
    Ok(person)
}

type SignInError = (crate::web::i18n::Locale, UpstreamError);

async fn sign_in(app: &App, jar: CookieJar, pending: Pending, cfg: &Upstream, a: Asserted) -> Result<Response, SignInError> {
    let locale = pending.locale;
    let client_id = pending.client.id.as_str().to_string();
    let expected = if pending.sign_in.purpose.is_account_page() {
        // Linking needs the session that asked for it: without it this is no sign-in.
        let s = session::current(app, &jar, app.now()).await.map_err(|e| (locale, e.into()))?;
        Some(s.map(|s| s.record.person_id).ok_or((locale, UpstreamError::OtherAccount))?)
    } else {
        None
    };
    let person = resolve_person(app, cfg, &a, &client_id, expected.as_ref()).await.map_err(|e| (locale, e))?;
    if person.status != PersonStatus::Active {
        return Err((locale, UpstreamError::Inactive));
    }
    let acr = acr::for_account(a.acr.as_deref(), cfg.trust_level, person.account_level);
    let amr: Vec<Amr> = acr::amr_of(&a.amr);
    let auth = Authentication {
        person_id: &person.id,
        acr,
        amr,
        detail: json!({"upstream": cfg.id, "upstream_acr": a.acr}),
        upstream_session: Some((&cfg.id, &a.id_token)),
    };
    Ok(journey::authenticated(app, jar, pending, auth).await.into_response())
}

pub const LOGOUT_DONE_PATH: &str = "/logout/upstream/done";

/// Where to send the browser to end its upstream session too (RP-initiated logout at the
/// upstream), when the session came from an upstream that publishes an end_session_endpoint.
/// `then` is where our own logout would have sent the browser (a registered post-logout URI,
/// or none for the signed-out page); it travels in `state`, authenticated with our key.
pub async fn logout_redirect(app: &App, sid: &str, then: Option<&str>, locale: crate::web::i18n::Locale) -> Option<String> {
    let (upstream_id, id_token) = app.store.take_upstream_session(sid).await.ok().flatten()?;
    let p = app.federation.get(&upstream_id)?;
    let metadata = p.metadata(app.now()).await.ok()?;
    let end = metadata.additional_metadata().end_session_endpoint.as_ref()?;
    let then = then.unwrap_or_default();
    let mac = crate::web::csrf::token(&app.secrets.csrf, LOGOUT_DONE_PATH, then);
    let state = format!("{}.{}.{mac}", locale.as_str(), crate::crypto::b64url(then.as_bytes()));
    let mut url = end.url().clone();
    url.query_pairs_mut()
        .append_pair("id_token_hint", &id_token)
        .append_pair("client_id", &p.cfg.client_id)
        .append_pair("post_logout_redirect_uri", &app.settings.url(LOGOUT_DONE_PATH))
        .append_pair("state", &state);
    Some(url.to_string())
}

/// `GET /logout/upstream/done?state=…`: back from the upstream's logout.
pub async fn logout_done(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let fallback = page_locale(app.settings.default_locale, &headers, &jar, None, None);
    let mut parts = q.get("state").unwrap_or_default().splitn(3, '.');
    let (Some(lang), Some(then), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return PageError::expired(fallback).into_response();
    };
    let then = crate::crypto::b64url_decode(then).and_then(|b| String::from_utf8(b).ok());
    let Some(then) = then.filter(|t| crate::web::csrf::verify(&app.secrets.csrf, LOGOUT_DONE_PATH, t, mac)) else {
        return PageError::expired(fallback).into_response();
    };
    if !then.is_empty() {
        return Redirect::to(&then).into_response();
    }
    let locale = crate::web::i18n::Locale::parse(lang).unwrap_or(fallback);
    let other = if locale == crate::web::i18n::Locale::Vi { crate::web::i18n::Locale::En } else { crate::web::i18n::Locale::Vi };
    let page = crate::web::pages::LoggedOutPage { locale, switch_href: Some(format!("/logout?lang={}", other.as_str())) };
    crate::web::pages::render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    #[test]
    fn birthdates_in_both_formats() {
        let d = time::macros::date!(1995 - 09 - 03);
        assert_eq!(super::birthdate_of("1995-09-03"), Some(d));
        assert_eq!(super::birthdate_of("03/09/1995"), Some(d));
        assert_eq!(super::birthdate_of("19950903"), Some(d));
        assert_eq!(super::birthdate_of("1995/09/03"), None);
    }
}
