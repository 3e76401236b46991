//! "Who received my data" (`/account/disclosures`): the person's disclosure record, newest
//! first, filterable by recipient, paged (`privacy::disclosure`).

use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::{AccountError, format_time};
use crate::client::Bilingual;
use crate::identity::PersonId;
use crate::privacy::disclosure::{Basis, Released};
use crate::state::App;
use crate::store::StoreError;
use crate::store::disclosures::Disclosure;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::lang::remember_lang;
use crate::web::pages::render;

/// Records per page.
pub const PAGE: i64 = 20;

/// One release as the person reads it.
pub struct DisclosureRow {
    pub when: String,
    pub recipient: String,
    pub recipient_name: String,
    /// `account.disclosures.kind.*`: a service, a QR code, an operator.
    pub kind_key: &'static str,
    /// `account.disclosures.how.*`: sign-in, renewal, device, QR, operator's read.
    pub how_key: &'static str,
    /// What left, as labels (i18n keys), each once.
    pub claim_keys: Vec<&'static str>,
    pub purposes: Vec<Bilingual>,
    pub basis_key: &'static str,
    pub legal_basis: Option<Bilingual>,
    pub acr: Option<String>,
}

/// The consent-page label of a claim name (OIDC or claim 169), if it has one.
pub fn claim_label(name: &str) -> Option<&'static str> {
    Some(match name {
        "sub" => "claim.openid",
        "name" | "family_name" | "middle_name" | "given_name" | "HoVaTen" | "fullName" => "claim.name",
        "birthdate" | "NgayThangNamSinh" | "dateOfBirth" => "claim.birthdate",
        "gender" => "claim.gender",
        "email" | "email_verified" => "claim.email",
        "phone_number" | "phone_number_verified" => "claim.phone_number",
        "address" => "claim.address",
        "vn_personal_id" | "vn_tax_code" | "SoDinhDanh" | "personal_id" | "id" => "claim.vn_personal_id",
        "vn_account_level" | "LoaiTaiKhoan" | "account_level" => "claim.vn_account_level",
        "nationalities" | "nationality" => "claim.nationality",
        "vn_org" => "claim.vn_org",
        "vn_agency_code" | "vn_agency_name" | "vn_title" => "claim.vn_agency_code",
        "status" => "claim.status",
        _ => return None,
    })
}

pub fn row(d: &Disclosure) -> DisclosureRow {
    let released = Released::parse(&d.detail);
    let mut claim_keys: Vec<&'static str> = Vec::new();
    for key in released.iter().flat_map(|r| r.claims.iter()).filter_map(|c| claim_label(c)) {
        if !claim_keys.contains(&key) {
            claim_keys.push(key);
        }
    }
    let how_key = match (d.channel.as_str(), released.as_ref().and_then(|r| r.grant.as_deref())) {
        (_, Some(crate::client::GRANT_REFRESH_TOKEN)) => "account.disclosures.how.refresh",
        (_, Some(crate::client::GRANT_DEVICE_CODE)) => "account.disclosures.how.device",
        ("token", _) => "account.disclosures.how.sign_in",
        ("qr_presentation", _) => "account.disclosures.how.qr_presentation",
        ("qr_identity", _) => "account.disclosures.how.qr_identity",
        _ => "account.disclosures.how.operator",
    };
    let kind_key = match d.recipient_kind.as_str() {
        crate::store::disclosures::TO_PORTAL => "account.disclosures.kind.portal",
        crate::store::disclosures::TO_OPERATOR => "account.disclosures.kind.operator",
        _ => "account.disclosures.kind.credential",
    };
    let (basis_key, legal_basis) = match released.as_ref().map(|r| &r.basis) {
        Some(Basis::Legal { text }) => ("account.disclosures.basis.legal", Some(text.clone())),
        Some(Basis::Duty) => ("account.disclosures.basis.duty", None),
        _ => ("account.disclosures.basis.consent", None),
    };
    DisclosureRow {
        when: format_time(d.at),
        recipient: d.recipient.clone(),
        // A QR code has no recipient's name: the kind says it.
        recipient_name: if d.recipient_kind == crate::store::disclosures::TO_CREDENTIAL { String::new() } else { d.recipient_name.clone() },
        kind_key,
        how_key,
        claim_keys,
        purposes: released.as_ref().map(|r| r.purposes.values().cloned().collect()).unwrap_or_default(),
        basis_key,
        legal_basis,
        acr: released.and_then(|r| r.acr).and_then(|a| crate::assurance::Acr::parse(&a)).map(|a| acr_label(a).to_string()),
    }
}

/// `urn:vn:eid:loa:2` → "2": the page says "level 2".
pub(super) fn acr_label(acr: crate::assurance::Acr) -> &'static str {
    match acr {
        crate::assurance::Acr::Loa1 => "1",
        crate::assurance::Acr::Loa2 => "2",
        crate::assurance::Acr::Loa3 => "3",
    }
}

/// The newest releases (the account page shows a few).
pub async fn latest(app: &App, person_id: &PersonId, n: i64) -> Result<Vec<DisclosureRow>, StoreError> {
    app.store.keep_released_of(person_id).await?;
    Ok(app.store.disclosures_of(person_id, None, 0, n).await?.iter().map(row).collect())
}

#[derive(Template)]
#[template(path = "account_disclosures.html")]
pub struct DisclosuresPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub rows: Vec<DisclosureRow>,
    /// (recipient, name) for the filter; the selected one.
    pub recipients: Vec<(String, String)>,
    pub selected: String,
    pub page: i64,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
}

fn href(recipient: &str, page: i64, lang: Option<Locale>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if !recipient.is_empty() {
        q.append_pair("recipient", recipient);
    }
    if page > 1 {
        q.append_pair("page", &page.to_string());
    }
    if let Some(l) = lang {
        q.append_pair("lang", l.as_str());
    }
    let q = q.finish();
    if q.is_empty() { "/account/disclosures".into() } else { format!("/account/disclosures?{q}") }
}

/// `GET /account/disclosures[?recipient=…&page=N]`.
pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let ctx = match super::context(&app, &headers, &jar, q.get("lang")).await {
        Ok(c) => c,
        Err((AccountError::NoSession | AccountError::PersonGone, locale)) => return super::start_sign_in(&app, jar, locale).await,
        Err((e, locale)) => return e.page(locale),
    };
    let recipient = q.get("recipient").unwrap_or_default().to_string();
    let page_no = q.get("page").and_then(|p| p.parse::<i64>().ok()).filter(|p| (1..=100_000).contains(p)).unwrap_or(1);
    let run = async {
        app.store.keep_released_of(&ctx.person.id).await?;
        // One more than a page: whether there is a next one.
        let mut found = app
            .store
            .disclosures_of(&ctx.person.id, Some(&recipient).filter(|r| !r.is_empty()).map(String::as_str), (page_no - 1) * PAGE, PAGE + 1)
            .await?;
        let more = found.len() as i64 > PAGE;
        found.truncate(PAGE as usize);
        let recipients = app.store.disclosure_recipients(&ctx.person.id).await?;
        Ok::<_, StoreError>((found, more, recipients))
    };
    let (found, more, recipients) = match run.await {
        Ok(r) => r,
        Err(e) => return PageError::internal(ctx.locale, e).into_response(),
    };
    let page = DisclosuresPage {
        locale: ctx.locale,
        switch_href: Some(href(&recipient, page_no, Some(ctx.locale.other()))),
        rows: found.iter().map(row).collect(),
        recipients,
        prev_href: (page_no > 1).then(|| href(&recipient, page_no - 1, None)),
        next_href: more.then(|| href(&recipient, page_no + 1, None)),
        selected: recipient,
        page: page_no,
    };
    (remember_lang(jar, q.get("lang")), render(StatusCode::OK, &page)).into_response()
}
