//! The operator's admin API under `/admin/v1`, described by an OpenAPI document generated from
//! the handlers themselves (`/admin/v1/openapi.json`).

pub mod actor;
pub mod api;
pub mod audit_api;
pub mod auth;
pub mod corrections;
pub mod credentials_api;
pub mod enrolment;
pub mod portal_api;
pub mod portals;
pub mod problem;
pub mod stats_api;
pub mod upstreams;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::App;

#[derive(OpenApi)]
#[openapi(
    info(title = "nixa admin API", description = "Operators manage persons, organisations, officials and portals."),
    paths(api::get_person, api::put_person, api::lock_person, api::unlock_person, api::set_level, enrolment::activation_code, enrolment::send_code, api::get_org, api::put_org,
        api::put_representative, api::put_official, api::list_clients, api::get_client, api::create_client,
        portal_api::update_client, portal_api::delete_client, portal_api::disable_client, portal_api::enable_client, portal_api::rotate_secret,
        upstreams::list, upstreams::put, upstreams::delete, corrections::list, corrections::answer, stats_api::export, stats_api::integration, audit_api::export,
        credentials_api::person_credentials, credentials_api::revoke_person_credentials, credentials_api::organisation_credentials,
        credentials_api::revoke_organisation_credentials),
    components(schemas(problem::Problem, api::PersonIn, api::PersonOut, api::LevelIn, enrolment::ActivationCodeIn, enrolment::ActivationCodeOut, enrolment::SendCodeIn, enrolment::SendCodeOut, api::OrgIn, api::OrgOut,
        api::RepresentativeIn, api::RepresentativeOut, api::OfficialIn, api::OfficialOut, api::ClientIn, api::ClientOut,
        portal_api::ClientPatch, portal_api::ReasonIn, portal_api::DisabledOut, portal_api::RotateIn, portal_api::RotatedOut, crate::client::Disabled,
        credentials_api::CredentialOut, credentials_api::RevokeIn, credentials_api::RevokedOut,
        upstreams::UpstreamOut, corrections::CorrectionOut, corrections::AnswerIn, crate::federation::config::UpstreamConfig, crate::federation::config::ClaimMapping)),
    modifiers(&OperatorAuth)
)]
pub struct AdminDoc;

struct OperatorAuth;

impl Modify for OperatorAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme("operator", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
        }
    }
}

async fn openapi_json() -> impl IntoResponse {
    let body = AdminDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".into());
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
}

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/v1/openapi.json", get(openapi_json))
        .route("/admin/v1/persons/{personal_id}", get(api::get_person).put(api::put_person))
        .route("/admin/v1/persons/{personal_id}/lock", post(api::lock_person))
        .route("/admin/v1/persons/{personal_id}/unlock", post(api::unlock_person))
        .route("/admin/v1/persons/{personal_id}/level", put(api::set_level))
        .route("/admin/v1/persons/{personal_id}/activation-code", post(enrolment::activation_code))
        .route("/admin/v1/persons/{personal_id}/send-code", post(enrolment::send_code))
        .route("/admin/v1/persons/{personal_id}/credentials", get(credentials_api::person_credentials))
        .route("/admin/v1/persons/{personal_id}/credentials/revoke", post(credentials_api::revoke_person_credentials))
        .route("/admin/v1/organisations/{code}/credentials", get(credentials_api::organisation_credentials))
        .route("/admin/v1/organisations/{code}/credentials/revoke", post(credentials_api::revoke_organisation_credentials))
        .route("/admin/v1/organisations/{code}", get(api::get_org).put(api::put_org))
        .route("/admin/v1/organisations/{code}/representatives/{personal_id}", put(api::put_representative))
        .route("/admin/v1/officials/{personal_id}", put(api::put_official))
        .route("/admin/v1/clients", get(api::list_clients).post(api::create_client))
        .route("/admin/v1/clients/{client_id}", get(api::get_client).patch(portal_api::update_client).delete(portal_api::delete_client))
        .route("/admin/v1/clients/{client_id}/disable", post(portal_api::disable_client))
        .route("/admin/v1/clients/{client_id}/enable", post(portal_api::enable_client))
        .route("/admin/v1/clients/{client_id}/rotate-secret", post(portal_api::rotate_secret))
        .route("/admin/v1/upstreams", get(upstreams::list))
        .route("/admin/v1/corrections", get(corrections::list))
        .route("/admin/v1/stats", get(stats_api::export))
        .route("/admin/v1/stats/integration", get(stats_api::integration))
        .route("/admin/v1/audit", get(audit_api::export))
        .route("/admin/v1/corrections/{id}/answer", post(corrections::answer))
        .route("/admin/v1/upstreams/{id}", put(upstreams::put).delete(upstreams::delete))
}
