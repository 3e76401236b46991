//! The admin API (`/admin/v1`): persons, organisations, officials and clients for operators.
//! Every handler names the scope it needs; every error is a problem document.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::auth::require;
use super::problem::Problem;
use crate::audit::{self, Event};
use crate::client::ClientId;
use crate::identity::import::{PersonRecord, validate};
use crate::identity::{AccountLevel, AgencyCode, Organisation, Person, PersonId, PersonStatus, PersonalId, RepresentativeRole, TaxCode};
use crate::oidc::registration::{self, ClientSpec};
use crate::state::App;

/// Parses a JSON body strictly: wrong media type 415, malformed 400.
pub(super) fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Problem> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send application/json",
        ));
    }
    serde_json::from_slice(body).map_err(|e| Problem::bad_request(format!("malformed JSON body: {e}")))
}

fn personal_id(text: &str) -> Result<PersonalId, Problem> {
    PersonalId::parse(text).map_err(|e| Problem::bad_request(format!("personal_id: {e}")))
}

pub(super) async fn person_by(app: &App, text: &str) -> Result<Person, Problem> {
    let pid = personal_id(text)?;
    Ok(app.store.person_for_login(&pid).await?.ok_or_else(|| Problem::not_found("person"))?.0)
}

async fn record(app: &App, op: &str, what: &str, person: Option<&PersonId>, detail: serde_json::Value) -> Result<(), Problem> {
    let detail = json!({"operator": op, "action": what, "detail": detail});
    Ok(audit::record(&app.store, app.now(), Event::AdminChange, person, None, detail).await?)
}

// ---------------------------------------------------------------- persons

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonIn {
    pub family_name: String,
    #[serde(default)]
    pub middle_name: Option<String>,
    pub given_name: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub birthdate: Option<String>,
    /// male | female
    #[serde(default)]
    pub sex: Option<String>,
    /// ISO 3166-1 alpha-2, default VN
    #[serde(default)]
    pub nationality: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// 1 or 2
    pub account_level: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonOut {
    pub id: String,
    pub personal_id: String,
    pub family_name: String,
    pub middle_name: String,
    pub given_name: String,
    pub birthdate: Option<String>,
    pub sex: Option<String>,
    pub nationality: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub account_level: i64,
    /// active | locked_by_owner | locked_by_operator | deceased
    pub status: String,
}

/// What a read of [`PersonOut`] releases, as the disclosure record names it.
const PERSON_OUT_CLAIMS: [&str; 11] =
    ["personal_id", "name", "birthdate", "gender", "nationality", "address", "phone_number", "email", "account_level", "status", "id"];

impl From<&Person> for PersonOut {
    fn from(p: &Person) -> Self {
        Self {
            id: p.id.to_string(),
            personal_id: p.personal_id.to_string(),
            family_name: p.family_name.clone(),
            middle_name: p.middle_name.clone(),
            given_name: p.given_name.clone(),
            birthdate: p.birthdate_iso(),
            sex: p.sex.map(|s| s.as_str().to_string()),
            nationality: p.nationality.clone(),
            address: p.address.clone(),
            phone: p.phone.clone(),
            email: p.email.clone(),
            account_level: p.account_level.as_i64(),
            status: p.status.as_str().to_string(),
        }
    }
}

#[utoipa::path(get, path = "/admin/v1/persons/{personal_id}", tag = "persons",
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = PersonOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:read"])))]
pub async fn get_person(State(app): State<Arc<App>>, headers: HeaderMap, Path(pid): Path<String>) -> Result<Json<PersonOut>, Problem> {
    let op = require(&app, &headers, "persons:read").await?;
    let person = person_by(&app, &pid).await?;
    // The person sees on their account page that an operator read their record; the audit log
    // keeps who read whom.
    crate::privacy::disclosure::record_operator_read(&app.store, &person.id, &op.name, &PERSON_OUT_CLAIMS, app.now()).await?;
    let detail = json!({"operator": op.name, "action": "person.read", "channel": "admin_api"});
    audit::record(&app.store, app.now(), Event::OperatorRead, Some(&person.id), None, detail).await?;
    Ok(Json(PersonOut::from(&person)))
}

#[utoipa::path(put, path = "/admin/v1/persons/{personal_id}", tag = "persons", request_body = PersonIn,
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = PersonOut, description = "updated"), (status = 201, body = PersonOut, description = "created"),
        (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn put_person(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let op = require(&app, &headers, "persons:write").await?;
    let pid = personal_id(&pid)?;
    let input: PersonIn = json_body(&headers, &body)?;
    let rec = PersonRecord {
        personal_id: Some(pid.to_string()),
        family_name: Some(input.family_name),
        middle_name: input.middle_name,
        given_name: Some(input.given_name),
        birthdate: input.birthdate,
        sex: input.sex,
        nationality: input.nationality,
        address: input.address,
        phone: input.phone,
        email: input.email,
        account_level: Some(json!(input.account_level)),
    };
    let mut person = validate(&rec).map_err(|e| {
        let (field, detail) = e.split_once(": ").unwrap_or(("body", e.as_str()));
        Problem::invalid_field(field, detail)
    })?;
    let existing = app.store.person_for_login(&pid).await?.map(|(p, _)| p);
    // An update keeps the account's status: locks are changed only through lock/unlock.
    if let Some(e) = &existing {
        person.status = e.status;
    }
    let id = app.store.upsert_person(&person, app.now()).await?;
    record(&app, &op.name, if existing.is_some() { "person.updated" } else { "person.created" }, Some(&id), json!({})).await?;
    let stored = app.store.person(&id).await?.ok_or_else(|| Problem::not_found("person"))?;
    let status = if existing.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(PersonOut::from(&stored))).into_response())
}

async fn change_status(app: &App, headers: &HeaderMap, pid: &str, lock: bool) -> Result<Json<PersonOut>, Problem> {
    let op = require(app, headers, "persons:write").await?;
    let person = person_by(app, pid).await?;
    let now = app.now();
    let next = match (person.status, lock) {
        (PersonStatus::Deceased, _) => return Err(Problem::conflict("the account of a deceased person cannot change")),
        (_, true) => PersonStatus::LockedByOperator,
        // The owner's own lock is lifted by the owner, not by an operator.
        (PersonStatus::LockedByOwner, false) => return Err(Problem::conflict("the account was locked by its owner")),
        (_, false) => PersonStatus::Active,
    };
    app.store.set_person_status(&person.id, next.as_str(), now).await?;
    if lock {
        app.store.delete_sessions_of(&person.id).await?;
    }
    record(app, &op.name, if lock { "person.locked" } else { "person.unlocked" }, Some(&person.id), json!({})).await?;
    let stored = app.store.person(&person.id).await?.ok_or_else(|| Problem::not_found("person"))?;
    Ok(Json(PersonOut::from(&stored)))
}

#[utoipa::path(post, path = "/admin/v1/persons/{personal_id}/lock", tag = "persons",
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = PersonOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn lock_person(State(app): State<Arc<App>>, headers: HeaderMap, Path(pid): Path<String>) -> Result<Json<PersonOut>, Problem> {
    change_status(&app, &headers, &pid, true).await
}

#[utoipa::path(post, path = "/admin/v1/persons/{personal_id}/unlock", tag = "persons",
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = PersonOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn unlock_person(State(app): State<Arc<App>>, headers: HeaderMap, Path(pid): Path<String>) -> Result<Json<PersonOut>, Problem> {
    change_status(&app, &headers, &pid, false).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelIn {
    /// 1 or 2
    pub account_level: i64,
}

#[utoipa::path(put, path = "/admin/v1/persons/{personal_id}/level", tag = "persons", request_body = LevelIn,
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = PersonOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn set_level(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    body: Bytes,
) -> Result<Json<PersonOut>, Problem> {
    let op = require(&app, &headers, "persons:write").await?;
    let person = person_by(&app, &pid).await?;
    let input: LevelIn = json_body(&headers, &body)?;
    let level = AccountLevel::from_i64(input.account_level).ok_or_else(|| Problem::invalid_field("account_level", "must be 1 or 2"))?;
    app.store.set_account_level(&person.id, level.as_i64(), app.now()).await?;
    let detail = json!({"from": person.account_level.as_i64(), "to": level.as_i64()});
    record(&app, &op.name, "person.level", Some(&person.id), detail).await?;
    let stored = app.store.person(&person.id).await?.ok_or_else(|| Problem::not_found("person"))?;
    Ok(Json(PersonOut::from(&stored)))
}

// ---------------------------------------------------------- organisations

/// Canonical code and kind: an enterprise tax code or an agency code.
pub(super) fn org_code(text: &str) -> Result<(String, &'static str), Problem> {
    if let Ok(t) = TaxCode::parse(text) {
        return Ok((t.as_str().to_string(), "enterprise"));
    }
    match AgencyCode::parse(text) {
        Ok(a) => Ok((a.as_str().to_string(), "agency")),
        Err(_) => Err(Problem::bad_request("code: neither a valid tax code nor an agency code (AAA.BB.CC.Xnn)")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgIn {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepresentativeOut {
    pub personal_id: String,
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgOut {
    pub id: String,
    pub code: String,
    /// enterprise | agency
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
    pub representatives: Vec<RepresentativeOut>,
}

async fn org_out(app: &App, o: Organisation) -> Result<OrgOut, Problem> {
    let reps = app.store.representatives(&o.id).await?;
    Ok(OrgOut {
        id: o.id,
        code: o.code,
        kind: o.kind,
        name: o.name,
        address: o.address,
        representatives: reps
            .into_iter()
            .map(|(personal_id, role)| RepresentativeOut { personal_id, role: role.as_str().to_string() })
            .collect(),
    })
}

#[utoipa::path(get, path = "/admin/v1/organisations/{code}", tag = "organisations",
    params(("code" = String, Path, description = "Tax code or agency code")),
    responses((status = 200, body = OrgOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["orgs:read"])))]
pub async fn get_org(State(app): State<Arc<App>>, headers: HeaderMap, Path(code): Path<String>) -> Result<Json<OrgOut>, Problem> {
    require(&app, &headers, "orgs:read").await?;
    let (code, _) = org_code(&code)?;
    let org = app.store.organisation_by_code(&code).await?.ok_or_else(|| Problem::not_found("organisation"))?;
    Ok(Json(org_out(&app, org).await?))
}

#[utoipa::path(put, path = "/admin/v1/organisations/{code}", tag = "organisations", request_body = OrgIn,
    params(("code" = String, Path, description = "Tax code or agency code")),
    responses((status = 200, body = OrgOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["orgs:write"])))]
pub async fn put_org(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Json<OrgOut>, Problem> {
    let op = require(&app, &headers, "orgs:write").await?;
    let (code, kind) = org_code(&code)?;
    let input: OrgIn = json_body(&headers, &body)?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 500 {
        return Err(Problem::invalid_field("name", "required, at most 500 characters"));
    }
    let org = Organisation {
        id: uuid::Uuid::new_v4().to_string(),
        code: code.clone(),
        kind: kind.into(),
        name: name.into(),
        address: input.address.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
    };
    app.store.upsert_organisation(&org, app.now()).await?;
    record(&app, &op.name, "organisation.put", None, json!({"code": code})).await?;
    let stored = app.store.organisation_by_code(&code).await?.ok_or_else(|| Problem::not_found("organisation"))?;
    Ok(Json(org_out(&app, stored).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepresentativeIn {
    /// legal_representative | authorised_staff
    pub role: String,
}

#[utoipa::path(put, path = "/admin/v1/organisations/{code}/representatives/{personal_id}", tag = "organisations",
    request_body = RepresentativeIn,
    params(("code" = String, Path, description = "Tax code or agency code"),
        ("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = OrgOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["orgs:write"])))]
pub async fn put_representative(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((code, pid)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<OrgOut>, Problem> {
    let op = require(&app, &headers, "orgs:write").await?;
    let (code, _) = org_code(&code)?;
    let person = person_by(&app, &pid).await?;
    let input: RepresentativeIn = json_body(&headers, &body)?;
    let Some(role) = RepresentativeRole::parse(&input.role) else {
        return Err(Problem::invalid_field("role", "must be legal_representative or authorised_staff"));
    };
    let org = app.store.organisation_by_code(&code).await?.ok_or_else(|| Problem::not_found("organisation"))?;
    app.store.add_representative(&org.id, &person.id, role).await?;
    record(&app, &op.name, "organisation.representative", Some(&person.id), json!({"code": code, "role": input.role})).await?;
    Ok(Json(org_out(&app, org).await?))
}

// -------------------------------------------------------------- officials

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficialIn {
    /// Agency code AAA.BB.CC.Xnn of a registered agency
    pub agency_code: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfficialOut {
    pub personal_id: String,
    pub agency_code: String,
    pub agency_name: String,
    pub title: String,
}

#[utoipa::path(put, path = "/admin/v1/officials/{personal_id}", tag = "officials", request_body = OfficialIn,
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = OfficialOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn put_official(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    body: Bytes,
) -> Result<Json<OfficialOut>, Problem> {
    let op = require(&app, &headers, "persons:write").await?;
    let person = person_by(&app, &pid).await?;
    let input: OfficialIn = json_body(&headers, &body)?;
    let code = AgencyCode::parse(&input.agency_code).map_err(|e| Problem::invalid_field("agency_code", e))?;
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Problem::invalid_field("title", "required, at most 200 characters"));
    }
    let agency = app.store.organisation_by_code(code.as_str()).await?.ok_or_else(|| Problem::not_found("agency"))?;
    app.store.put_official(&person.id, &agency.id, title, app.now()).await?;
    record(&app, &op.name, "official.put", Some(&person.id), json!({"agency_code": agency.code})).await?;
    Ok(Json(OfficialOut {
        personal_id: person.personal_id.to_string(),
        agency_code: agency.code,
        agency_name: agency.name,
        title: title.into(),
    }))
}

// ---------------------------------------------------------------- clients

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientIn {
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    /// client_secret_basic (default) | client_secret_post | private_key_jwt | none
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// ES256 (default) | RS256
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// Space-separated scopes the portal may ask for (default: `openid` only)
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub first_party: bool,
    /// standard (default) | vn_hub
    #[serde(default)]
    pub claims_profile: Option<String>,
    /// Further registration metadata (RFC 7591 names).
    #[serde(default)]
    pub options: crate::client::ClientOptions,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientOut {
    pub client_id: String,
    pub client_name: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub scope: String,
    pub id_token_signed_response_alg: String,
    pub subject_type: String,
    pub claims_profile: String,
    pub options: crate::client::ClientOptions,
    /// Present while an operator has the portal disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<crate::client::Disabled>,
    /// Until when the secret replaced by the last rotation is still accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<i64>,
    /// Present once, in the registration response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

pub(super) fn client_out(c: &crate::client::Client, secret: Option<String>) -> ClientOut {
    ClientOut {
        client_id: c.id.to_string(),
        client_name: c.name.clone(),
        token_endpoint_auth_method: c.auth_method.as_str().into(),
        redirect_uris: c.redirect_uris.clone(),
        scope: c.allowed_scopes.join(" "),
        id_token_signed_response_alg: c.id_token_alg.as_str().into(),
        subject_type: if c.first_party { "public" } else { "pairwise" }.into(),
        claims_profile: c.claims_profile.as_str().into(),
        options: c.options.clone(),
        disabled: c.disabled.clone(),
        previous_secret_expires_at: c.previous_secret.as_ref().map(|p| p.expires_at),
        client_secret: secret,
    }
}

#[utoipa::path(get, path = "/admin/v1/clients", tag = "clients",
    responses((status = 200, body = Vec<ClientOut>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["clients:read"])))]
pub async fn list_clients(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Vec<ClientOut>>, Problem> {
    require(&app, &headers, "clients:read").await?;
    Ok(Json(app.store.clients().await?.iter().map(|c| client_out(c, None)).collect()))
}

#[utoipa::path(get, path = "/admin/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientOut), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["clients:read"])))]
pub async fn get_client(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Result<Json<ClientOut>, Problem> {
    require(&app, &headers, "clients:read").await?;
    let id = ClientId::parse(&id).ok_or_else(|| Problem::not_found("client"))?;
    let c = app.store.client_record(&id).await?.ok_or_else(|| Problem::not_found("client"))?;
    Ok(Json(client_out(&c, None)))
}

#[utoipa::path(post, path = "/admin/v1/clients", tag = "clients", request_body = ClientIn,
    responses((status = 201, body = ClientOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["clients:write"])))]
pub async fn create_client(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, Problem> {
    let op = require(&app, &headers, "clients:write").await?;
    let input: ClientIn = json_body(&headers, &body)?;
    // A first-party portal receives public subjects: the same rule as registration.
    if input.first_party && !op.scopes.iter().any(|s| s == "clients:first_party") {
        return Err(Problem::forbidden("clients:first_party"));
    }
    let spec = ClientSpec {
        id: None,
        name: input.client_name,
        redirect_uris: input.redirect_uris,
        auth_method: input.token_endpoint_auth_method,
        alg: input.id_token_signed_response_alg,
        scopes: input.scope.unwrap_or_default().split_ascii_whitespace().map(str::to_owned).collect(),
        first_party: input.first_party,
        claims_profile: input.claims_profile,
        options: input.options,
    };
    let (client, secret) = registration::build(&spec).map_err(|e| Problem::invalid_field("client", e))?;
    crate::privacy::sector::verify_client(&app.outbound, &client).await.map_err(|e| Problem::invalid_field("sector_identifier_uri", e))?;
    app.store.put_client(&client, app.now()).await?;
    let detail = json!({"operator": op.name, "name": client.name});
    audit::record(&app.store, app.now(), Event::ClientRegistered, None, Some(client.id.as_str()), detail).await?;
    Ok((StatusCode::CREATED, Json(client_out(&client, secret))).into_response())
}
