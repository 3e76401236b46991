//! The account page's sections about the person themselves: *my data* (with correction
//! requests), *sessions and devices* (sign out one or all), the *sign-in history*, and
//! *download my data* (one JSON file with everything the page shows, and the audit events about
//! the person).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::{ACCOUNT_CLIENT, Ctx, format_time};
use crate::oidc::logout::{self, LogoutReason};
use crate::state::App;
use crate::store::StoreError;
use crate::store::corrections::{CorrectionRequest, OPEN};
use crate::web::error::PageError;

/// What *my data* lists; also the fields a correction request may name.
pub const FIELDS: [&str; 9] = ["name", "birthdate", "gender", "nationality", "address", "phone", "email", "organisations", "other"];
/// Open correction requests a person may have at once.
pub const OPEN_MAX: i64 = 5;
/// The longest correction message kept.
pub const MESSAGE_MAX: usize = 1000;
/// Sign-ins the page lists.
pub const HISTORY_ROWS: i64 = 20;

pub struct OrgRow {
    pub name: String,
    pub code: String,
    pub role_key: &'static str,
}

pub struct SessionRow {
    pub sid: String,
    pub current: bool,
    pub browser: String,
    pub network: Option<String>,
    pub started: String,
    pub last_seen: String,
    pub level: &'static str,
}

pub struct SignInRow {
    pub when: String,
    /// Empty for the account page itself (the page says so).
    pub portal: String,
    pub method_keys: Vec<&'static str>,
    pub level: &'static str,
    pub new_browser: bool,
    pub network: Option<String>,
}

pub struct CorrectionRow {
    pub when: String,
    pub field_keys: Vec<&'static str>,
    pub message: String,
    pub status_key: &'static str,
    pub answer: Option<String>,
}

/// Everything these sections show.
pub struct DataView {
    pub birthdate: Option<String>,
    pub gender_key: Option<&'static str>,
    pub nationality: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub organisations: Vec<OrgRow>,
    pub sessions: Vec<SessionRow>,
    pub sign_ins: Vec<SignInRow>,
    pub corrections: Vec<CorrectionRow>,
    pub may_request_correction: bool,
    pub disclosures: Vec<super::disclosures::DisclosureRow>,
}

pub fn field_key(f: &str) -> &'static str {
    match f {
        "name" => "claim.name",
        "birthdate" => "claim.birthdate",
        "gender" => "claim.gender",
        "nationality" => "claim.nationality",
        "address" => "claim.address",
        "phone" => "claim.phone_number",
        "email" => "claim.email",
        "organisations" => "account.data.organisations",
        _ => "account.data.other",
    }
}

fn level_label(acr: &str) -> &'static str {
    crate::assurance::Acr::parse(acr).map_or("1", super::disclosures::acr_label)
}

fn method_key(amr: &str) -> Option<&'static str> {
    Some(match amr {
        "pwd" => "account.method.pwd",
        "otp" => "account.method.otp",
        "sms" => "account.method.sms",
        "hwk" | "swk" | "user" | "pin" | "fpt" | "face" => "account.method.key",
        "sc" => "account.method.certificate",
        _ => return None,
    })
}

/// "Firefox · Android": enough to recognise one's own devices, from the User-Agent.
pub fn browser_summary(ua: Option<&str>) -> String {
    let Some(ua) = ua else { return String::new() };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(x), None) | (None, Some(x)) => x.to_string(),
        // Not a browser we recognise: the start of what it said, so it can still be told apart.
        (None, None) => ua.chars().take(40).collect(),
    }
}

fn correction_row(c: &CorrectionRequest) -> CorrectionRow {
    CorrectionRow {
        when: format_time(c.created_at),
        field_keys: c.fields.iter().map(|f| field_key(f)).collect(),
        message: c.message.clone(),
        status_key: match c.status.as_str() {
            OPEN => "account.corrections.open",
            crate::store::corrections::DONE => "account.corrections.done",
            _ => "account.corrections.rejected",
        },
        answer: c.answer.clone(),
    }
}

pub(super) async fn view(app: &App, ctx: &Ctx) -> Result<DataView, StoreError> {
    let p = &ctx.person;
    let now = app.now();
    let organisations = app
        .store
        .representations(&p.id)
        .await?
        .into_iter()
        .map(|(o, role)| OrgRow {
            name: o.name,
            code: o.code,
            role_key: match role {
                crate::identity::RepresentativeRole::LegalRepresentative => "account.data.role.legal",
                crate::identity::RepresentativeRole::AuthorisedStaff => "account.data.role.staff",
            },
        })
        .collect();
    let sessions = app
        .store
        .sessions_of(&p.id, now, app.settings.session_idle)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            current: s.id_hash == ctx.session.id_hash,
            browser: browser_summary(s.origin.user_agent.as_deref()),
            network: s.origin.network,
            started: format_time(s.created_at),
            last_seen: format_time(s.last_seen_at),
            level: level_label(&s.acr),
            sid: s.sid,
        })
        .collect();
    let sign_ins = app
        .store
        .sign_ins_of(&p.id, HISTORY_ROWS)
        .await?
        .into_iter()
        .map(|s| SignInRow {
            when: format_time(s.at),
            portal: if s.client_id == ACCOUNT_CLIENT { String::new() } else { s.client_name },
            method_keys: s.methods.iter().filter_map(|m| method_key(m)).collect(),
            level: level_label(&s.acr),
            new_browser: s.new_browser,
            network: s.network,
        })
        .collect();
    let corrections = app.store.corrections_of(&p.id).await?;
    let open = corrections.iter().filter(|c| c.status == OPEN).count() as i64;
    Ok(DataView {
        birthdate: p.birthdate_iso(),
        gender_key: p.sex.map(|s| match s {
            crate::identity::Sex::Male => "account.data.male",
            crate::identity::Sex::Female => "account.data.female",
        }),
        nationality: p.nationality.clone(),
        address: p.address.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        organisations,
        sessions,
        sign_ins,
        corrections: corrections.iter().map(correction_row).collect(),
        may_request_correction: open < OPEN_MAX,
        disclosures: super::disclosures::latest(app, &p.id, 5).await?,
    })
}

/// `POST /account/sessions/end` (form: `csrf`, `sid` = one of the person's sessions, or `all`
/// for every one, this one included). Each ends as a logout does: tokens revoked, portals told.
pub async fn end_sessions(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let (ctx, f) = match super::posted_form(&app, &headers, &jar, &body).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let wanted = f.get("sid").unwrap_or_default();
    let run = async {
        let mine = app.store.sessions_of(&ctx.person.id, app.now(), 0).await?;
        let chosen: Vec<_> = mine.iter().filter(|s| wanted == "all" || s.sid == wanted).collect();
        if chosen.is_empty() {
            return Ok(None);
        }
        let mut ended_this = false;
        for s in chosen {
            ended_this |= s.id_hash == ctx.session.id_hash;
            logout::end_session(&app, &s.sid, LogoutReason::Server("account_page")).await?;
        }
        Ok::<_, StoreError>(Some(ended_this))
    };
    match run.await {
        // This browser's session ended too: the cookie goes and the person sees they are out.
        Ok(Some(true)) => {
            let other = ctx.locale.other();
            let page = crate::web::pages::LoggedOutPage { locale: ctx.locale, switch_href: Some(format!("/?lang={}", other.as_str())) };
            (jar.remove(crate::web::cookies::SESSION), crate::web::pages::render(StatusCode::OK, &page)).into_response()
        }
        Ok(Some(false)) => Redirect::to("/account#sessions").into_response(),
        Ok(None) => super::render_page(&app, &ctx, StatusCode::NOT_FOUND, Some("account.sessions.none_such")).await,
        Err(e) => PageError::internal(ctx.locale, e).into_response(),
    }
}

/// `POST /account/corrections` (form: `csrf`, `field`, `message`).
pub async fn request_correction(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let (ctx, f) = match super::posted_form(&app, &headers, &jar, &body).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let field = f.get("field").unwrap_or_default();
    let message = f.get("message").unwrap_or_default().trim();
    if !FIELDS.contains(&field) || message.is_empty() || message.chars().count() > MESSAGE_MAX {
        return super::render_page(&app, &ctx, StatusCode::BAD_REQUEST, Some("account.corrections.invalid")).await;
    }
    let run = async {
        if app.store.open_corrections_of(&ctx.person.id).await? >= OPEN_MAX {
            return Ok(false);
        }
        let now = app.now();
        let request = CorrectionRequest {
            id: crate::crypto::random_token(),
            person_id: ctx.person.id.clone(),
            created_at: now,
            fields: vec![field.to_string()],
            // Control characters would reach operators' terminals; line breaks are kept.
            message: message.chars().filter(|c| !c.is_control() || *c == '\n').collect(),
            status: OPEN.into(),
            answer: None,
            answered_at: None,
            answered_by: None,
        };
        app.store.insert_correction(&request).await?;
        let detail = json!({"correction": request.id, "field": field});
        crate::audit::record(&app.store, now, crate::audit::Event::CorrectionRequested, Some(&ctx.person.id), None, detail).await?;
        Ok::<_, StoreError>(true)
    };
    match run.await {
        Ok(true) => Redirect::to("/account#corrections").into_response(),
        Ok(false) => super::render_page(&app, &ctx, StatusCode::TOO_MANY_REQUESTS, Some("account.corrections.too_many")).await,
        Err(e) => PageError::internal(ctx.locale, e).into_response(),
    }
}

/// `GET /account/export`: everything above as one JSON file (Decree 13/2023 Art. 9: the right
/// to obtain one's data).
pub async fn export(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar) -> Response {
    let ctx = match super::context(&app, &headers, &jar, None).await {
        Ok(c) => c,
        Err((e, locale)) => return e.page(locale),
    };
    match document(&app, &ctx).await {
        Ok(doc) => {
            let body = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            let mut res = (StatusCode::OK, body).into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"my-data.json\""));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => PageError::internal(ctx.locale, e).into_response(),
    }
}

/// The export: the person, their organisations, consents, the whole disclosure record, sign-ins,
/// live sessions, factors (never a secret), correction requests and the audit events about them.
pub(super) async fn document(app: &App, ctx: &Ctx) -> Result<Value, StoreError> {
    let p = &ctx.person;
    let now = app.now();
    app.store.keep_released_of(&p.id).await?;
    let mut disclosures = Vec::new();
    let mut offset = 0;
    loop {
        let page = app.store.disclosures_of(&p.id, None, offset, 1000).await?;
        let n = page.len() as i64;
        disclosures.extend(page.into_iter().map(|d| {
            json!({
                "at": d.at, "recipient_kind": d.recipient_kind, "recipient": d.recipient, "recipient_name": d.recipient_name,
                "channel": d.channel, "released": serde_json::from_str::<Value>(&d.detail).unwrap_or(Value::Null),
            })
        }));
        if n < 1000 {
            break;
        }
        offset += n;
    }
    let consents: Vec<Value> = app
        .store
        .consents_of(&p.id)
        .await?
        .into_iter()
        .map(|c| json!({"client_id": c.client_id, "portal": c.client_name, "scopes": c.scopes, "granted_at": c.granted_at}))
        .collect();
    let sign_ins: Vec<Value> = app
        .store
        .sign_ins_of(&p.id, i64::MAX)
        .await?
        .into_iter()
        .map(|s| {
            json!({"at": s.at, "client_id": s.client_id, "portal": s.client_name, "methods": s.methods, "acr": s.acr,
            "new_browser": s.new_browser, "network": s.network, "user_agent": s.user_agent})
        })
        .collect();
    let sessions: Vec<Value> = app
        .store
        .sessions_of(&p.id, now, app.settings.session_idle)
        .await?
        .into_iter()
        .map(|s| {
            json!({"started_at": s.created_at, "last_seen_at": s.last_seen_at, "acr": s.acr, "amr": s.amr,
            "user_agent": s.origin.user_agent, "network": s.origin.network})
        })
        .collect();
    let organisations: Vec<Value> = app
        .store
        .representations(&p.id)
        .await?
        .into_iter()
        .map(|(o, role)| json!({"code": o.code, "name": o.name, "kind": o.kind, "role": role}))
        .collect();
    let corrections: Vec<Value> = app
        .store
        .corrections_of(&p.id)
        .await?
        .into_iter()
        .map(|c| {
            json!({"created_at": c.created_at, "fields": c.fields, "message": c.message, "status": c.status,
            "answer": c.answer, "answered_at": c.answered_at})
        })
        .collect();
    let audit: Vec<Value> = app
        .store
        .audit_of_person(&p.id)
        .await?
        .into_iter()
        .map(|e| json!({"at": e.at, "event": e.event, "client_id": e.client_id, "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null)}))
        .collect();
    Ok(json!({
        "generated_at": now,
        "issuer": app.settings.issuer_str,
        "person": {
            "personal_id": p.personal_id.as_str(),
            "family_name": p.family_name, "middle_name": p.middle_name, "given_name": p.given_name,
            "birthdate": p.birthdate_iso(), "gender": p.sex.map(|s| s.as_str()), "nationality": p.nationality,
            "address": p.address, "phone": p.phone, "email": p.email,
            "account_level": p.account_level.as_i64(),
        },
        "factors": {
            "password": ctx.has_password,
            "authenticator_app": ctx.has_totp,
            "passkeys": ctx.passkeys.iter().map(|k| json!({"name": k.name, "created_at": k.created_at, "last_used_at": k.last_used_at})).collect::<Vec<_>>(),
        },
        "organisations": organisations,
        "consents": consents,
        "disclosures": disclosures,
        "sign_ins": sign_ins,
        "sessions": sessions,
        "correction_requests": corrections,
        "audit_events": audit,
    }))
}
